"""The cloud regions and the per-GB egress price table between them.

The figures approximate the providers' public list prices at the first paid volume
tier (README, "Where the prices come from"). They are kept as small rule tables rather
than a 22 x 22 matrix because that is how the providers publish them: AWS charges by
the source region, GCP by the continent pair, Azure by the source continent, and any
transfer leaving a cloud is billed as that cloud's internet egress.
"""

from __future__ import annotations

NA, SA, EU, AS, OC = "north_america", "south_america", "europe", "asia", "oceania"

# (name, provider, continent); a name is "<provider>:<provider's region id>".
REGIONS: tuple[tuple[str, str, str], ...] = (
    ("aws:us-east-1", "aws", NA),
    ("aws:us-west-2", "aws", NA),
    ("aws:sa-east-1", "aws", SA),
    ("aws:eu-west-1", "aws", EU),
    ("aws:eu-central-1", "aws", EU),
    ("aws:ap-northeast-1", "aws", AS),
    ("aws:ap-southeast-1", "aws", AS),
    ("aws:ap-southeast-2", "aws", OC),
    ("gcp:us-central1", "gcp", NA),
    ("gcp:us-east4", "gcp", NA),
    ("gcp:europe-west1", "gcp", EU),
    ("gcp:europe-west4", "gcp", EU),
    ("gcp:asia-east1", "gcp", AS),
    ("gcp:asia-northeast1", "gcp", AS),
    ("gcp:australia-southeast1", "gcp", OC),
    ("azure:eastus", "azure", NA),
    ("azure:westus2", "azure", NA),
    ("azure:westeurope", "azure", EU),
    ("azure:northeurope", "azure", EU),
    ("azure:japaneast", "azure", AS),
    ("azure:southeastasia", "azure", AS),
    ("azure:brazilsouth", "azure", SA),
)

# AWS "data transfer out to another AWS region", by source region ($/GB).
AWS_INTER_REGION: dict[str, float] = {
    "aws:us-east-1": 0.02,
    "aws:us-west-2": 0.02,
    "aws:sa-east-1": 0.138,
    "aws:eu-west-1": 0.02,
    "aws:eu-central-1": 0.02,
    "aws:ap-northeast-1": 0.09,
    "aws:ap-southeast-1": 0.09,
    "aws:ap-southeast-2": 0.098,
}
# AWS "data transfer out to the internet", first 10 TB/month tier, by source region.
AWS_INTERNET: dict[str, float] = {
    "aws:us-east-1": 0.09,
    "aws:us-west-2": 0.09,
    "aws:sa-east-1": 0.15,
    "aws:eu-west-1": 0.09,
    "aws:eu-central-1": 0.09,
    "aws:ap-northeast-1": 0.114,
    "aws:ap-southeast-1": 0.12,
    "aws:ap-southeast-2": 0.114,
}
# GCP inter-region transfer (Premium tier) by continent pair; other pairs use the
# intercontinental rate, and any pair touching Oceania the Oceania rate.
GCP_SAME_CONTINENT: dict[str, float] = {NA: 0.02, EU: 0.02, AS: 0.05, OC: 0.08}
GCP_INTERCONTINENTAL = 0.08
GCP_OCEANIA = 0.15
# GCP internet egress (Premium tier, 0-1 TB), by the destination's continent.
GCP_INTERNET: dict[str, float] = {NA: 0.12, SA: 0.12, EU: 0.12, AS: 0.12, OC: 0.19}
# Azure inter-region transfer: intra-continental flat, intercontinental by source continent.
AZURE_SAME_CONTINENT = 0.02
AZURE_INTERCONTINENTAL: dict[str, float] = {NA: 0.05, EU: 0.05, AS: 0.08, OC: 0.08, SA: 0.16}
# Azure internet egress (Microsoft network routing, 100 GB-10 TB tier) by source zone.
AZURE_INTERNET: dict[str, float] = {NA: 0.087, EU: 0.087, AS: 0.12, OC: 0.12, SA: 0.181}


def region_records() -> list[dict[str, str]]:
    """The region list a policy receives: JSON-safe, one dict per region."""
    return [{"name": n, "provider": p, "continent": c} for n, p, c in REGIONS]


def link_price(source: tuple[str, str, str], target: tuple[str, str, str]) -> float:
    """What one GB costs to send from `source` to `target` at list price."""
    s_name, s_cloud, s_continent = source
    _, t_cloud, t_continent = target
    if s_cloud != t_cloud:
        if s_cloud == "aws":
            return AWS_INTERNET[s_name]
        if s_cloud == "gcp":
            return GCP_INTERNET[t_continent]
        return AZURE_INTERNET[s_continent]
    if s_cloud == "aws":
        return AWS_INTER_REGION[s_name]
    if s_cloud == "gcp":
        if s_continent == t_continent:
            return GCP_SAME_CONTINENT[s_continent]
        return GCP_OCEANIA if OC in (s_continent, t_continent) else GCP_INTERCONTINENTAL
    if s_continent == t_continent:
        return AZURE_SAME_CONTINENT
    return AZURE_INTERCONTINENTAL[s_continent]


def price_table() -> dict[str, dict[str, float]]:
    """price[u][v] in $/GB for every ordered pair of distinct regions."""
    return {s[0]: {t[0]: link_price(s, t) for t in REGIONS if t[0] != s[0]} for s in REGIONS}
