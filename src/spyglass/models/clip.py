"""A text–image model slot: CLIP-style image and text towers as two ONNX files the user names.

No CLIP-class weights ship in any package (../shared/MODELS.md), so this slot is empty by default. It accepts the
usual ONNX exports of CLIP, OpenCLIP or SigLIP, split into two graphs:

- the **image tower** takes ``pixel_values`` (float32, ``(batch, 3, size, size)``, RGB, resized on the short side,
  centre-cropped, scaled to 0..1 and normalised by ``mean``/``std``) and returns one embedding per image;
- the **text tower** takes ``input_ids`` (int64, ``(batch, length)``, and ``attention_mask`` when the graph asks for
  it) from a ``tokenizer.json`` (Hugging Face ``tokenizers``), padded to ``max_length`` (77 for CLIP) with the
  tokenizer's pad id, and returns one embedding per text.

When a graph has several outputs, the one named ``image_embeds``/``text_embeds`` (or ``embeds``) is used, else the
first. Both embeddings are L2-normalised, so the inner product is the cosine similarity the towers were trained for
(Radford et al. 2021, "Learning Transferable Visual Models From Natural Language Supervision").

The model loads on first use; the model id (file names, sizes and times) is recorded in the manifest, and changing
either file re-embeds every image.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from spyglass.core.errors import MissingExtraError, SpyglassError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _file_id(p: Path) -> str:
    st = p.stat()
    return f"{p.name}:{st.st_size}:{int(st.st_mtime)}"


def _pick_output(session: Any, names: tuple[str, ...]) -> str:
    outs = [o.name for o in session.get_outputs()]
    for n in names:
        if n in outs:
            return n
    return outs[0]


class ClipModel:
    """Image and text towers. ``embed_images`` takes PIL images; ``embed_texts`` takes strings."""

    def __init__(self, image_model: str, text_model: str, tokenizer: str = "", image_size: int = 224,
                 mean: tuple[float, ...] = CLIP_MEAN, std: tuple[float, ...] = CLIP_STD, max_length: int = 77,
                 batch_size: int = 16, threads: int = 0) -> None:
        self.image_path = Path(image_model).expanduser()
        self.text_path = Path(text_model).expanduser()
        self.tokenizer_path = Path(tokenizer).expanduser() if tokenizer else self.text_path.with_name("tokenizer.json")
        self.image_size = image_size
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.max_length = max_length
        self.batch_size = batch_size
        self.threads = threads or (os.cpu_count() or 1)
        self._img: Any = None
        self._txt: Any = None
        self._tok: Any = None

    def _check_files(self) -> None:
        for what, p in (("image tower", self.image_path), ("text tower", self.text_path),
                        ("tokenizer", self.tokenizer_path)):
            if not p.is_file():
                raise SpyglassError(f"the {what} {p} is not a file (settings [media] clip_image_model, "
                                    "clip_text_model, clip_tokenizer)")

    @property
    def model_id(self) -> str:
        self._check_files()
        return (f"clip:{_file_id(self.image_path)}|{_file_id(self.text_path)}|{_file_id(self.tokenizer_path)}"
                f"|{self.image_size}|{','.join(f'{x:g}' for x in self.mean + self.std)}|l2")

    def _session(self, path: Path) -> Any:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingExtraError("photo search by description", "semantic", "onnxruntime") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        try:
            return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for bad or unsupported files
            raise SpyglassError(f"cannot load {path} with onnxruntime: {exc}") from exc

    def warm_up(self) -> None:
        if self._img is not None:
            return
        self._check_files()
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingExtraError("photo search by description", "semantic", "tokenizers") from exc
        img, txt = self._session(self.image_path), self._session(self.text_path)
        tok = Tokenizer.from_file(str(self.tokenizer_path))
        tok.enable_truncation(max_length=self.max_length)
        pad_id = next((i for i in (tok.token_to_id(t) for t in ("<pad>", "[PAD]", "<|endoftext|>")) if i is not None), 0)
        tok.enable_padding(pad_id=pad_id, length=self.max_length)
        self._tok = tok
        self._img_out = _pick_output(img, ("image_embeds", "embeds"))
        self._txt_out = _pick_output(txt, ("text_embeds", "embeds"))
        self._img_in = img.get_inputs()[0].name
        self._txt_in = {i.name for i in txt.get_inputs()}
        self._img, self._txt = img, txt

    @property
    def dim(self) -> int:
        return int(self.embed_texts(["a photo"]).shape[1])

    def preprocess(self, img: Any) -> Any:
        """One image as a ``(3, size, size)`` float32 array: RGB, short side to ``size`` (bicubic), centre crop,
        0..1, normalised per channel."""
        import numpy as np
        from PIL import Image

        s = self.image_size
        img = img.convert("RGB")
        w, h = img.size
        scale = s / min(w, h)
        img = img.resize((max(s, round(w * scale)), max(s, round(h * scale))), Image.Resampling.BICUBIC)
        w, h = img.size
        left, top = (w - s) // 2, (h - s) // 2
        img = img.crop((left, top, left + s, top + s))
        a = np.asarray(img, dtype=np.float32) / 255.0
        a = (a - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return a.transpose(2, 0, 1)

    def embed_images(self, images: list[Any]) -> Any:
        """Unit vectors ``(len(images), dim)`` for PIL images."""
        import numpy as np

        self.warm_up()
        out = []
        for b in range(0, len(images), self.batch_size):
            px = np.stack([self.preprocess(im) for im in images[b : b + self.batch_size]])
            out.append(self._img.run([self._img_out], {self._img_in: px})[0].reshape(len(px), -1))
        return _unit(np.vstack(out)) if out else np.zeros((0, 0), np.float32)

    def embed_texts(self, texts: list[str]) -> Any:
        """Unit vectors ``(len(texts), dim)``."""
        import numpy as np

        self.warm_up()
        out = []
        for b in range(0, len(texts), self.batch_size):
            encs = self._tok.encode_batch(texts[b : b + self.batch_size])
            ids = np.asarray([e.ids for e in encs], dtype=np.int64)
            feeds = {"input_ids": ids}
            if "attention_mask" in self._txt_in:
                feeds["attention_mask"] = np.asarray([e.attention_mask for e in encs], dtype=np.int64)
            out.append(self._txt.run([self._txt_out], feeds)[0].reshape(len(ids), -1))
        return _unit(np.vstack(out)) if out else np.zeros((0, 0), np.float32)


def _unit(v: Any) -> Any:
    import numpy as np

    v = np.asarray(v, dtype=np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
