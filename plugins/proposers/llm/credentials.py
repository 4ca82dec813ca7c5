"""Where model keys come from: the environment, or a `.env` file loaded into it.

Keys never pass through the task or the run config (both are stored in the
database), so the only thing a run records about a key is the *name* of the variable
that holds it. The sandbox scrubs credentials from the candidate's environment, so
loading `.env` here does not hand keys to evaluated code; the keys read here are also
remembered (evoforge.secret_values), so a candidate that finds one some other way
cannot have it stored or quoted in a prompt.
"""

from __future__ import annotations

from pathlib import Path

from evoforge.plugins.proposers.llm.calls import litellm_module
from evoforge.proposals import ProposerUnavailable
from evoforge.secret_values import remember, remember_env_file

PLACEHOLDER_KEY = "evoforge-no-key"
"""Sent to a custom `api_base` when no key is configured: local OpenAI-compatible
servers (vLLM, llama.cpp, a test server) ignore it, and the OpenAI client refuses to
send a request without one."""


def load_env_file(name: str | None) -> Path | None:
    """Load `name` (searched from the working directory upwards) without overriding
    variables already set; returns the file loaded, if any."""
    if not name:
        return None
    from dotenv import find_dotenv, load_dotenv

    found = Path(name) if Path(name).is_absolute() else None
    if found is None:
        located = find_dotenv(name, usecwd=True)
        found = Path(located) if located else None
    if found is None or not found.is_file():
        return None
    load_dotenv(found, override=False)
    remember_env_file(found)  # its keys are scrubbed from candidate output, loaded or not
    return found


def resolve_key(model: str, api_base: str | None, api_key_env: str | None) -> str | None:
    """The key to pass explicitly for one model, or None to let litellm find its own.

    Raises `ProposerUnavailable` naming the variable to set when a key is required and
    missing, so a run fails before its first call rather than on every proposal.
    """
    import os

    if api_key_env:
        value = os.environ.get(api_key_env)
        if not value:
            raise ProposerUnavailable(
                f"model {model!r} reads its key from ${api_key_env}, which is not set; "
                "export it or add it to .env"
            )
        remember(value)  # the variable's name may not look like a key's
        return value
    litellm = litellm_module()
    try:
        litellm.get_llm_provider(model)
    except Exception:
        raise ProposerUnavailable(
            f"{model!r} is not a litellm model string; write provider/model, e.g. "
            "openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest or hosted_vllm/NAME "
            "with api_base"
        ) from None
    missing = [
        key
        for key in litellm.validate_environment(model=model, api_base=api_base)["missing_keys"]
        if key.endswith(("_KEY", "_TOKEN"))
    ]
    if not missing:
        return None
    if api_base:
        return PLACEHOLDER_KEY
    raise ProposerUnavailable(
        f"model {model!r} needs {', '.join(missing)}; export it or add it to .env "
        "(or give the model an api_base for a local server)"
    )
