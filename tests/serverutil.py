"""A real Spyglass server (uvicorn on a loopback port, in a thread) over a small corpus with private documents."""

from __future__ import annotations

import mailbox
import os
import socket
import threading
import time
from email.message import EmailMessage
from pathlib import Path

ALICE_WORD = "xylophonequartz"  # only in documents alice may read
BOB_WORD = "marmaladezephyr"  # only in documents bob may read
ALICE_GID, BOB_GID = 50011, 50012
PASSWORD = "correct horse battery"


def write_corpus(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "public-plan.txt").write_text("Quarterly planning notes for the whole team about the zebra project "
                                          "and the harbour bridge budget.")
    (root / "team-handbook.txt").write_text("The handbook explains holidays, expenses and the zebra crossing rule.")
    alice = root / "alice-diary.txt"
    alice.write_text(f"Alice's private diary: the {ALICE_WORD} idea for the zebra project, and a salary note.")
    os.chown(alice, 0, ALICE_GID)
    alice.chmod(0o640)
    bob = root / "bob-draft.txt"
    bob.write_text(f"Bob's draft mentions {BOB_WORD} and the zebra project roadmap.")
    os.chown(bob, 0, BOB_GID)
    bob.chmod(0o640)
    box = mailbox.mbox(str(root / "mail.mbox"))
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "carol@example.com", "alice@example.com", f"Budget {ALICE_WORD} review"
    m["Date"] = "Mon, 02 Sep 2024 10:00:00 +0000"
    m["Message-ID"] = "<1@example.com>"
    m.set_content(f"Alice, the {ALICE_WORD} budget for the zebra project is approved.")
    box.add(m)
    box.flush()
    box.close()
    (root / "mail.mbox").chmod(0o600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``with LiveServer(home) as srv: srv.url``"""

    def __init__(self, home: Path, config=None) -> None:
        import uvicorn

        from spyglass.server.app import create_app

        self.app = create_app(home, config)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                   lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def state(self):
        return self.app.app.state.spyglass

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def build_team_home(tmp: Path, embeddings: bool = True):
    """Index the corpus and add users admin, alice, bob. Returns (home, corpus root)."""
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config

    root = tmp / "team"
    write_corpus(root)
    home = tmp / "home"
    home.mkdir()
    cfg = Config()
    cfg.embedding.enabled = embeddings
    cfg.server.rate_per_s = 1000.0
    cfg.server.rate_burst = 1000
    # what is under test here is who may read what; the packaged answerability model refuses some easy questions in a
    # corpus this small (tests/test_answering.py measures it on its own), so answers use the word-overlap score
    cfg.answer.answerability = ""
    toml = "[server]\nrate_per_s = 1000.0\nrate_burst = 1000\n[answer]\nanswerability = \"\"\n"
    if not embeddings:
        toml += "[embedding]\nenabled = false\n"
    (home / "config.toml").write_text(toml)
    sg = Spyglass(home, config=cfg)
    sg.index([str(root)])
    acc = sg.accounts
    acc.add_user("admin", "admin", PASSWORD)
    acc.add_user("alice", "member", PASSWORD, groups=[str(ALICE_GID)], emails=["alice@example.com"])
    acc.add_user("bob", "member", PASSWORD, groups=[str(BOB_GID)])
    sg.close_all()
    return home, root
