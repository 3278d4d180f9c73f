"""Image captions from a vision-capable OpenAI-compatible endpoint (``[media] caption_endpoint``): Ollama with a
vision model, vLLM, llama.cpp server, or a hosted API.

Each image is captioned once per version of the file (extraction runs again only when the file changes); the
caption is indexed as the image's text, labelled ``Caption``, so photos are found by what they show with the
embedded keyword and semantic search. The image is downscaled to ``caption_max_side`` pixels and sent as a JPEG data
URL in a ``chat/completions`` request (the OpenAI "image_url" content part), temperature 0.

When the endpoint cannot be reached or answers with an error, the image is indexed without a caption and marked
``caption-missing``: ``spyglass status`` counts them and ``spyglass index --retry-failed`` asks again.
"""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.error
import urllib.request
from typing import Any

from spyglass.core.errors import SpyglassError


class CaptionError(SpyglassError):
    pass


def image_data_url(img: Any, max_side: int) -> str:
    from PIL import Image

    im = img.convert("RGB")
    if max(im.size) > max_side:
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def caption_image(img: Any, media: Any) -> str:
    """One caption for a PIL image, or :class:`CaptionError` saying why there is none."""
    url = media.caption_endpoint.rstrip("/") + "/chat/completions"
    body = {
        "model": media.caption_model or "default",
        "temperature": 0,
        "max_tokens": 160,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": media.caption_prompt},
            {"type": "image_url", "image_url": {"url": image_data_url(img, media.caption_max_side)}},
        ]}],
    }
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(media.caption_api_key_env, "") if media.caption_api_key_env else ""
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=media.caption_timeout_s) as resp:  # noqa: S310 (configured URL)
            data = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise CaptionError(f"caption endpoint {url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise CaptionError(f"caption endpoint {url} unreachable: {getattr(exc, 'reason', exc)}") from exc
    except ValueError as exc:
        raise CaptionError(f"caption endpoint {url} sent invalid JSON") from exc
    try:
        text = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise CaptionError(f"caption endpoint {url} sent no choices[0].message.content") from exc
    if isinstance(text, list):  # content parts
        text = " ".join(p.get("text", "") for p in text if isinstance(p, dict))
    return " ".join(str(text).split())
