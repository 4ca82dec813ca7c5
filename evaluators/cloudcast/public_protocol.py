"""The public Cloudcast instances: the 5 ADRS broadcast configurations over 71 regions.

Read once at the orchestrator from `adrs_public/cloudcast/` (the profiles and configs
the public evaluators ship) and turned into plain instances, so the sandbox gets every
price, throughput and limit it needs without seeing the files. Each instance keeps the
task's argument names (`source`, `destinations`, `regions`, `price_per_gb`,
`throughput_gbps`, `volume_gb`, `required_gbps`), so a task policy runs on it unchanged,
plus the public simulator's own settings (partitions, VMs, provider limits).
"""

from __future__ import annotations

import csv
import json
from typing import Any

from evoforge.public_data import public_file

FOLDER = "adrs_public/cloudcast"
CONFIGS = ("intra_aws", "intra_azure", "intra_gcp", "inter_agz", "inter_gaz2")
"""The leaderboard's 5 configurations, in its order (the total cost does not depend on it)."""
NUM_VMS = 2
"""VMs per region in the leaderboard's evaluation (`submission_spec.json`)."""
INSTANCE_USD_PER_HOUR = 0.54
"""The public simulator's price of one VM-hour (m5.8xlarge spot, its comment says)."""

# The public profiles carry no continent; a task policy may read one, so each region id
# is placed by where the provider says the region is. The Middle East counts as Asia.
NA, SA, EU, AS, OC, AF = (
    "north_america",
    "south_america",
    "europe",
    "asia",
    "oceania",
    "africa",
)
_CONTINENT_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("aws:us-", NA),
    ("aws:ca-", NA),
    ("aws:sa-", SA),
    ("aws:eu-", EU),
    ("aws:me-", AS),
    ("aws:af-", AF),
    ("aws:ap-southeast-2", OC),
    ("aws:ap-", AS),
    ("gcp:us-", NA),
    ("gcp:southamerica-", SA),
    ("gcp:europe-", EU),
    ("gcp:me-", AS),
    ("gcp:asia-", AS),
    ("gcp:australia-", OC),
)
_AZURE_CONTINENT: dict[str, str] = {
    "eastus": NA,
    "eastus2": NA,
    "westus": NA,
    "westus2": NA,
    "southcentralus": NA,
    "northcentralus": NA,
    "canadacentral": NA,
    "brazilsouth": SA,
    "westeurope": EU,
    "northeurope": EU,
    "uksouth": EU,
    "germanywestcentral": EU,
    "norwayeast": EU,
    "swedencentral": EU,
    "switzerlandnorth": EU,
    "eastasia": AS,
    "koreacentral": AS,
    "centralindia": AS,
    "uaenorth": AS,
    "qatarcentral": AS,
    "australiaeast": OC,
    "southafricanorth": AF,
}


def continent(region: str) -> str:
    """Where a public region lies; an unknown id is a data change worth failing on."""
    provider, _, name = region.partition(":")
    if provider == "azure":
        return _AZURE_CONTINENT[name]
    for prefix, place in _CONTINENT_BY_PREFIX:
        if region.startswith(prefix):
            return place
    raise KeyError(f"no continent known for public region {region!r}")


def load_profiles() -> tuple[list[str], dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Regions, $/GB and Gbps (for `NUM_VMS` VMs) as the public graph holds them.

    The public graph adds one edge per throughput row (self-pairs skipped) in file
    order and takes its price from the cost file; regions, and each region's
    neighbours, keep that first-seen order, which is the order the public Dijkstra
    meets them in (and so how it breaks ties).
    """
    regions: list[str] = []
    gbps: dict[str, dict[str, float]] = {}
    with public_file(f"{FOLDER}/throughput.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            u, v = row["src_region"], row["dst_region"]
            for region in (u, v):
                if region not in gbps:
                    regions.append(region)
                    gbps[region] = {}
            if u != v:
                gbps[u][v] = NUM_VMS * float(row["throughput_sent"]) / 1e9
    price: dict[str, dict[str, float]] = {u: {} for u in regions}
    with public_file(f"{FOLDER}/cost.csv").open(newline="", encoding="utf-8") as handle:
        listed = {(row["src"], row["dest"]): float(row["cost"]) for row in csv.DictReader(handle)}
    for u in regions:
        for v in gbps[u]:
            if (u, v) not in listed:
                raise ValueError(f"the public cost profile has no price for {u} -> {v}")
            price[u][v] = listed[(u, v)]
    return regions, price, gbps


def public_instances() -> list[dict[str, Any]]:
    """The 5 public configurations as instances carrying all their data."""
    regions, price, gbps = load_profiles()
    table = [{"name": r, "provider": r.split(":")[0], "continent": continent(r)} for r in regions]
    instances = []
    for name in CONFIGS:
        path = public_file(f"{FOLDER}/config/{name}.json")
        config = json.loads(path.read_text(encoding="utf-8"))
        instances.append(
            {
                "protocol": "public",
                "id": name,
                "source": config["source_node"],
                "destinations": list(config["dest_nodes"]),
                "regions": table,
                "price_per_gb": price,
                "throughput_gbps": gbps,
                "volume_gb": float(config["data_vol"]),
                "required_gbps": 0.0,
                "num_partitions": int(config["num_partitions"]),
                "num_vms": NUM_VMS,
                "ingress_limit_gbps": {p: NUM_VMS * g for p, g in config["ingress_limit"].items()},
                "egress_limit_gbps": {p: NUM_VMS * g for p, g in config["egress_limit"].items()},
                "instance_usd_per_hour": INSTANCE_USD_PER_HOUR,
            }
        )
    return instances
