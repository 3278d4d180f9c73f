"""Configuration: a TOML file in the data directory (``config.toml``), read into typed sections.

Every setting is documented in ``docs/configuration.md``; a test fails when one is not.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spyglass.core.errors import ConfigError

ENV_HOME = "SPYGLASS_HOME"


@dataclass
class IndexSettings:
    chunk_max_words: int = 300
    follow_symlinks: bool = True
    follow_links_outside: bool = False  # follow links leaving the source root (per source: --follow-links-outside)
    include_hidden: bool = False
    skip_dirs: list[str] = field(
        default_factory=lambda: ["node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"]
    )
    workers: int = 0  # extraction processes; 0 = number of CPU cores
    commit_every: int = 20000  # lexical commit after this many passages


@dataclass
class LimitSettings:
    max_file_mb: float = 256.0  # files above this are recorded and skipped
    max_text_mb: float = 16.0  # extracted text kept per document
    max_passages: int = 20000  # passages kept per file, over all the documents inside it
    timeout_s: float = 60.0  # per-file extraction time limit
    memory_mb: int = 2048  # address-space limit of an extraction process
    max_archive_mb: float = 1024.0  # total uncompressed size allowed in a zip-based file
    max_archive_ratio: float = 200.0  # uncompressed/compressed ratio above which a zip is a bomb
    max_archive_members: int = 20000
    max_pages: int = 5000  # pages/slides/sheets read per document


@dataclass
class MediaSettings:
    ocr: bool = True  # OCR images and PDF pages without a text layer (needs Debian's tesseract-ocr + pytesseract)
    ocr_languages: str = "eng"  # Tesseract language codes joined by +, e.g. "eng+deu"
    ocr_dpi: int = 200  # resolution scanned PDF pages are rendered at for OCR
    ocr_max_pages: int = 100  # scanned pages OCR'd per document
    ocr_page_timeout_s: float = 30.0  # per page or image
    tesseract: str = ""  # the Tesseract program ("" = `tesseract` on the PATH)
    transcribe: bool = True  # speech to text for audio and the audio track of video (needs the audio extra)
    asr_language: str = ""  # "" = detect; else a Whisper language code such as "en"
    whisper_model: str = ""  # a CTranslate2 Whisper folder ("" = the packaged Whisper base)
    model_cache: str = ""  # where packaged model parts are joined ("" = ~/.cache/spyglass/models)
    # Photo search by description: CLIP-style ONNX towers (none ship in a package; docs/media.md)
    clip_image_model: str = ""  # image tower .onnx ("" = off)
    clip_text_model: str = ""  # text tower .onnx
    clip_tokenizer: str = ""  # tokenizer.json ("" = beside the text tower)
    clip_image_size: int = 224  # the tower's input resolution
    clip_mean: list[float] = field(default_factory=lambda: [0.48145466, 0.4578275, 0.40821073])  # CLIP's
    clip_std: list[float] = field(default_factory=lambda: [0.26862954, 0.26130258, 0.27577711])
    clip_max_length: int = 77  # text tokens (padded to this length)
    clip_weight: float = 0.6  # weight of the image run when fused with the text ranking (--type image)
    # Captions from a vision-capable OpenAI-compatible endpoint, indexed as text (once per image version)
    caption_endpoint: str = ""  # base URL, e.g. http://localhost:11434/v1 ("" = off)
    caption_model: str = ""  # e.g. llava, gpt-4o-mini
    caption_api_key_env: str = ""  # environment variable holding the key ("" = none)
    caption_prompt: str = "Describe this image in one or two factual sentences: the scene, people, objects, text."
    caption_timeout_s: float = 30.0  # per image (within the per-file time limit)
    caption_max_side: int = 768  # the image is downscaled to this many pixels on its long side before sending


@dataclass
class SearchSettings:
    title_boost: float = 0.5
    path_boost: float = 0.5
    body_boost: float = 1.0
    typo_tolerance: bool = True
    stopwords: bool = True  # drop question and stop words from a query's optional words (when others are left)
    snippet_chars: int = 200
    default_limit: int = 10
    mode: str = "hybrid"  # keyword | semantic | hybrid
    fusion: str = "normalized"  # normalized | zscore | rrf (with the language gate: BENCHMARKS.md, fusion × collections)
    fusion_depth: int = 100  # documents taken from each retriever before fusing
    rrf_k: float = 60.0
    alpha: float = 0.5  # weight of the semantic scores in fusion (keyword: 1 - alpha)
    language_gate: bool = True  # the semantic weight scaled by the share of the query's words the model knows
    semantic_floor: float = 0.0  # no word matches and no passage this similar (cosine): no results, only "related"


@dataclass
class EmbeddingSettings:
    """The embedding model slot: the packaged MiniLM by default, any BERT-style ONNX file, or an endpoint."""

    enabled: bool = True
    model: str = "minilm-l6-int8"  # or a path to a BERT-style ONNX file
    tokenizer: str = ""  # tokenizer.json for a model file (default: beside it)
    endpoint: str = ""  # an OpenAI-compatible /v1/embeddings URL instead of a local model
    endpoint_model: str = ""
    api_key_env: str = ""  # name of the environment variable holding the endpoint's key
    batch_size: int = 16  # measured fastest on 2 cores (BENCHMARKS.md)
    max_length: int = 256
    threads: int = 0  # onnxruntime threads; 0 = number of CPU cores
    batch_tokens: int = 2048  # a model call holds length-sorted passages up to this many tokens (0 = batch_size only)
    precision: str = "fp32"  # fp32 | int8 (activations quantized too: faster, slightly different vectors)
    spinning: bool = True  # onnxruntime worker threads spin between operators (off: yield the CPU at once)
    device: str = "cpu"  # cpu | cuda (the gpu extra: onnxruntime-gpu)
    exact_max: int = 50000  # exact search up to this many vectors, HNSW beyond (BENCHMARKS.md)
    background: bool = True  # `spyglass index` returns after the keyword commit; vectors follow in the background
    data_kinds: list[str] = field(default_factory=lambda: ["csv", "json", "yaml", "xml", "code", "log"])  # types/exts
    data_passages: int = 1  # leading passages of machine data (data_kinds) that get vectors; 0 = keyword-only


@dataclass
class RerankSettings:
    default: str = ""  # "" (none) | ltr | maxsim | cross-encoder: applied when a search names none
    k: int = 20  # candidates a model reranker (maxsim, cross-encoder) scores
    ltr_model: str = ""  # a LightGBM text model; "" = the packaged one (trained on SciFact train)
    learned: bool = True  # the ranker `spyglass train ranker` learned from your activity, as the final stage
    cross_encoder: str = ""  # "spyglass-reranker-minilm" (trained by Spyglass, packaged) or a path to an ONNX file
    cross_encoder_tokenizer: str = ""  # its tokenizer.json (default: beside it)


@dataclass
class AnswerSettings:
    backend: str = "auto"  # auto | extractive | openai | llama-cpp (auto: openai when an endpoint is set)
    endpoint: str = ""  # OpenAI-compatible base URL, e.g. http://localhost:11434/v1
    model: str = ""  # model name sent to the endpoint
    api_key_env: str = ""  # environment variable holding the endpoint's key
    model_path: str = ""  # a GGUF file for llama-cpp ("" = the packaged SmolLM2-135M-Instruct)
    context_tokens: int = 2048  # the model's context window
    max_tokens: int = 400  # longest answer
    temperature: float = 0.1
    passages: int = 8  # retrieved passages offered to the answer
    min_support: float = 0.6  # share of a claim's content words its cited passages must hold
    min_score: float = 0.5  # extractive without the answer model: the best sentence's score needed to answer
    # The answer models Spyglass trains (docs/ask.md): each is the packaged model, a path to your own ONNX file, or ""
    answerability: str = "spyglass-answerability"  # scores each sentence; "" = word overlap and min_score instead
    reader: str = "spyglass-reader-minilm"  # marks the answer span inside the quoted sentence; "" = no span
    reader_tokenizer: str = ""  # tokenizer.json for a reader file ("" = beside it, else all-MiniLM-L6-v2's)
    min_answerable: float = 0.15  # refuse below this answerability (how it was chosen: BENCHMARKS.md)
    refuse_before_llm: bool = False  # with a chat model: refuse without generating when answerability is below it


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_kb: int = 1024  # larger request bodies get 413
    rate_per_s: float = 20.0  # requests per second per token, session or client address (429 beyond)
    rate_burst: int = 60
    timeout_s: float = 30.0  # a request running longer gets 504 (streams excepted)
    readers: int = 4  # concurrent read handles per worker process
    workers: int = 1  # server processes (each loads its own models); 2 on a 2-core machine uses both cores
    session_hours: float = 12.0
    secure_cookies: bool = False  # set true behind HTTPS (the cookie is then sent over HTTPS only)
    max_query_chars: int = 2000
    user_requests: int = 0  # requests one user may have running at once (more wait, then 429); 0: readers - 1
    login_free_failures: int = 5  # failed logins per address and per account before the back-off starts
    login_lockout_max_s: float = 900.0  # the longest back-off after failed logins (it doubles per failure)
    log_queries: bool = False  # access log lines keep the query string (?q=...); off: the path only
    model_spinning: bool = False  # query embedder threads spin in server workers (replaces [embedding] spinning)


@dataclass
class UserSettings:
    """A user known to the local install, for ``--as-user``. POSIX groups are added when the name is an OS user."""

    groups: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    principals: list[str] = field(default_factory=list)  # extra raw principals, e.g. "slack:U0123"


@dataclass
class ActivitySettings:
    enabled: bool = True  # log searches, results shown and opens, per user, on this machine
    randomize: bool = True  # swap one random adjacent pair of results now and then, so position bias can be measured
    randomize_share: float = 0.1  # share of searches that get the swap


@dataclass
class OrganizeSettings:
    near_duplicate: float = 0.8  # estimated Jaccard of word 5-grams at which two texts are near-duplicates
    lookalike_distance: int = 8  # most differing dHash bits (of 64) for look-alike images (similar, duplicates)
    tag_vocabulary: list[str] = field(default_factory=list)  # tags to suggest zero-shot, besides the ones in use
    min_tag_score: float = 0.3  # a suggested tag's least score
    min_folder_confidence: float = 0.5  # plans move an unfiled file only with at least this confidence
    holding_folder: str = "_spyglass_duplicates"  # where plans move duplicate copies, under each source's root
    topic_names: bool = True  # name topics with the configured LLM ([answer] backend openai or llama-cpp)


@dataclass
class ClusterSettings:
    """Indexing on a Ray cluster (the ``cluster`` extra): extraction and embedding run as Ray tasks on its workers and
    stream back to this machine's single writer (docs/scaling.md)."""

    address: str = ""  # Ray address: "host:6379", "ray://host:10001" or "auto"; "" = index on this machine only
    files: str = "send"  # send (the writer reads each file and sends its bytes) | shared (workers open the same path)
    workers: int = 0  # Ray tasks run at once (extraction) and embedding tasks per batch; 0 = the cluster's CPUs
    batch_files: int = 8  # files per extraction task
    batch_mb: float = 64.0  # most bytes sent in one extraction task (files = "send")
    embed_batch: int = 64  # passages per embedding task
    embed_gpus: float = 0.0  # GPUs each embedding task asks for (e.g. 1 or 0.5 on GPU workers); 0 = CPU
    max_retries: int = 3  # Ray re-runs a task whose worker died this many times before the batch is split


@dataclass
class Config:
    index: IndexSettings = field(default_factory=IndexSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    rerank: RerankSettings = field(default_factory=RerankSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    organize: OrganizeSettings = field(default_factory=OrganizeSettings)
    activity: ActivitySettings = field(default_factory=ActivitySettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    users: dict[str, UserSettings] = field(default_factory=dict)

    @property
    def workers(self) -> int:
        return self.index.workers or max(1, os.cpu_count() or 1)


SECTIONS: dict[str, type] = {
    "index": IndexSettings,
    "limits": LimitSettings,
    "search": SearchSettings,
    "embedding": EmbeddingSettings,
    "rerank": RerankSettings,
    "server": ServerSettings,
    "answer": AnswerSettings,
    "organize": OrganizeSettings,
    "activity": ActivitySettings,
    "media": MediaSettings,
    "cluster": ClusterSettings,
}


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"unknown setting(s) in [{where}]: {', '.join(unknown)} (see docs/configuration.md)")
    obj = cls()
    for key, value in data.items():
        default = getattr(obj, key)
        if isinstance(default, bool) != isinstance(value, bool) or (
            isinstance(default, (int, float)) and not isinstance(value, (int, float))
        ) or (isinstance(default, (str, list)) and not isinstance(value, type(default))):
            raise ConfigError(f"[{where}] {key} = {value!r}: expected {type(default).__name__}")
        if isinstance(default, float):
            value = float(value)
        setattr(obj, key, value)
    return obj


def config_from_dict(data: dict[str, Any]) -> Config:
    cfg = Config()
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"[{key}] must be a table")
            setattr(cfg, key, _build(SECTIONS[key], value, key))
        elif key == "users":
            if not isinstance(value, dict):
                raise ConfigError("[users] must be a table of [users.NAME] tables")
            cfg.users = {name: _build(UserSettings, v, f"users.{name}") for name, v in value.items()}
        else:
            raise ConfigError(f"unknown section [{key}] in config (see docs/configuration.md)")
    return cfg


def load_config(path: Path) -> Config:
    if not path.exists():
        return Config()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    return config_from_dict(data)


def default_home() -> Path:
    """``$SPYGLASS_HOME``, else the XDG data directory (``~/.local/share/spyglass`` on Linux)."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("spyglass", appauthor=False))


CONFIG_TEMPLATE = """\
# Spyglass configuration. Every setting and its default: docs/configuration.md
# Uncomment a line to change it.

[index]
# chunk_max_words = 300
# follow_symlinks = true
# include_hidden = false
# workers = 0            # extraction processes, 0 = one per CPU core

[limits]
# max_file_mb = 256      # larger files are recorded in `spyglass status` and skipped
# timeout_s = 60         # per-file extraction time limit
# memory_mb = 2048

[search]
# title_boost = 0.5
# typo_tolerance = true

[embedding]
# enabled = true         # semantic search; false = keyword only
# model = "minilm-l6-int8"   # or a path to a BERT-style ONNX file (tokenizer.json beside it)
# endpoint = ""          # or an OpenAI-compatible embeddings URL

# Users for `spyglass search --as-user NAME`:
# [users.alice]
# groups = ["finance"]
# emails = ["alice@example.com"]
"""
