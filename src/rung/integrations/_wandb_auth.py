"""Whether ``wandb.init`` will find an API key, known without the network: W&B's online mode
needs one (``wandb login``, ``WANDB_API_KEY``, a ``.netrc`` entry, W&B's settings), and
``wandb.init`` without one fails (``UsageError: No API key configured``) or, at a terminal,
stops to prompt for it. Private to ``rung.integrations.wandb``.
"""

from __future__ import annotations

import os
from typing import Any

#: W&B modes that write locally only (``dryrun`` is ``offline``'s old name)
LOCAL_MODES = ("offline", "dryrun", "disabled")


def _settings() -> Any:
    """W&B's global settings (environment and settings files), as ``wandb.init`` starts from
    them; ``None`` where this wandb has no such object."""
    try:
        from wandb.sdk import wandb_setup

        return wandb_setup.singleton().settings
    except Exception:  # another wandb than the one this was written against
        return None


def effective_mode(mode: str | None) -> str:
    """The mode a ``wandb.init(mode=mode)`` runs in: ``mode`` when given, else
    ``WANDB_MODE``, else ``disabled`` under ``WANDB_DISABLED=true``, else W&B's settings
    (``wandb offline`` writes one), else ``online``."""
    if mode:
        return mode
    env = os.environ.get("WANDB_MODE")
    if env:
        return env
    if os.environ.get("WANDB_DISABLED", "").strip().lower() in ("true", "1", "yes"):
        return "disabled"
    settings = _settings()
    got = getattr(settings, "mode", None) if settings is not None else None
    return str(got) if got else "online"


def missing_api_key(mode: str | None) -> str | None:
    """Why ``wandb.init(mode=mode)`` cannot start for want of an API key (one clause), or
    ``None``: it will not need one (a local mode), it will find one (the environment,
    ``.netrc``, W&B's settings, a login earlier in this process; the key is not checked
    against the server), or this wandb does not say (an unknown version: ``wandb.init``
    decides). Reads only: no prompt, no network, no file written."""
    if effective_mode(mode) in LOCAL_MODES:
        return None
    settings = _settings()
    host = getattr(settings, "base_url", None) if settings is not None else None
    try:
        from wandb.sdk.lib import wbauth

        auth = wbauth.authenticate_session(host=host or "https://api.wandb.ai", source="rung",
                                           prompt=False, update_session=False)
    except ImportError:  # an older wandb: its api_key helper
        try:
            from wandb.sdk.lib import apikey  # type: ignore[attr-defined]

            auth = apikey.api_key(settings=settings)
        except Exception:
            return None
    except Exception as e:  # a key of the wrong form, two sources at once: init fails too
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return f"W&B's credentials are refused: {first}"
    if auth:
        return None
    return ("online mode needs a W&B API key and none is configured (run `wandb login`, set "
            "WANDB_API_KEY, or use mode offline: runs are kept under <dir>/wandb and uploaded "
            "later by `wandb sync`)")


__all__ = ["LOCAL_MODES", "effective_mode", "missing_api_key"]
