-- The catalog: what the index should contain. Lexical (and vector) indexes are derived from it; an item whose
-- derived entries are not yet committed has lex_dirty = 1, so a killed run resumes where it stopped.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,            -- folder | mail | chat | file
    root TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    added REAL NOT NULL,
    last_indexed REAL
);

CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    parent_id TEXT,                -- the file an attachment, message or channel-day lives in
    locator TEXT NOT NULL DEFAULT '',
    path_raw BLOB,                 -- file path bytes (top-level items), the identity of a file in its source
    path TEXT NOT NULL,            -- display path
    uri TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT,                    -- from the document's metadata when it has one
    type TEXT NOT NULL,
    mime TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    mtime_ns INTEGER NOT NULL DEFAULT 0,
    modified REAL,
    created REAL,
    content_hash TEXT,
    owner TEXT,
    author TEXT,
    status TEXT NOT NULL,          -- ok | metadata | error | deleted
    error_kind TEXT,
    error TEXT,
    n_chunks INTEGER NOT NULL DEFAULT 0,
    extract_ms REAL,
    indexed_at REAL,
    meta TEXT,
    lex_dirty INTEGER NOT NULL DEFAULT 1,
    emb_dirty INTEGER NOT NULL DEFAULT 1,
    seen INTEGER NOT NULL DEFAULT 0   -- the mark of the last walk that saw this file (mark and sweep)
);
CREATE INDEX IF NOT EXISTS items_source_path ON items(source_id, path_raw) WHERE parent_id IS NULL;
CREATE INDEX IF NOT EXISTS items_parent ON items(parent_id);
CREATE INDEX IF NOT EXISTS items_lex_dirty ON items(lex_dirty) WHERE lex_dirty = 1;
CREATE INDEX IF NOT EXISTS items_status ON items(status);

-- Files a walk found new or changed, parked until they are processed in chunks (memory flat in the source's size).
CREATE TABLE IF NOT EXISTS index_todo (
    source_id INTEGER NOT NULL,
    path_raw BLOB NOT NULL,
    entry TEXT NOT NULL,           -- the walk's entry (size, mtime, owner, principals, error) as JSON
    PRIMARY KEY (source_id, path_raw)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS acl (
    item_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    PRIMARY KEY (item_id, principal)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS chunks (
    item_id TEXT NOT NULL,
    ord INTEGER NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    label TEXT,
    PRIMARY KEY (item_id, ord)
) WITHOUT ROWID;

-- One row per embedded passage: vkey is the id of its vector in the faiss index (never reused); hash is the hash of
-- the passage's normalised text, so a duplicate passage reuses a vector instead of being embedded again.
CREATE TABLE IF NOT EXISTS embeddings (
    vkey INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL,
    ord INTEGER NOT NULL,
    hash TEXT
);
CREATE INDEX IF NOT EXISTS embeddings_item ON embeddings(item_id);
-- (embeddings_hash, on hash, is made by the catalog's migration: catalogs from before schema 3 lack the column)
-- Passages waiting for a vector, best first (index/embedding.py: first passages, prose, recent and opened files).
CREATE TABLE IF NOT EXISTS emb_todo (
    item_id TEXT NOT NULL,
    ord INTEGER NOT NULL,
    prio REAL NOT NULL,
    PRIMARY KEY (item_id, ord)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS emb_todo_prio ON emb_todo(prio DESC);

CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    stats TEXT
);

-- Organization (spyglass organize): topics from clustering the document embeddings, with each document's most
-- frequent content words for labels computed over what the caller may read; tags by origin.
CREATE TABLE IF NOT EXISTS topics (
    id INTEGER PRIMARY KEY,
    size INTEGER NOT NULL,
    built REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS item_topics (
    item_id TEXT PRIMARY KEY,
    topic_id INTEGER NOT NULL,
    score REAL NOT NULL          -- cosine to the topic's centroid
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_topics_topic ON item_topics(topic_id);
CREATE TABLE IF NOT EXISTS item_terms (
    item_id TEXT NOT NULL,
    term TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (item_id, term)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tags (
    item_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    origin TEXT NOT NULL,        -- user | accepted | rejected | plan
    at REAL NOT NULL,
    author TEXT,                 -- the user who set it (NULL: the local owner or an admin); only they or an admin remove it
    PRIMARY KEY (item_id, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag);

-- Activity (learning from use): what each user searched, was shown and opened. Stays on this machine;
-- `spyglass activity clear` erases it.
CREATE TABLE IF NOT EXISTS activity_searches (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    at REAL NOT NULL,
    query TEXT NOT NULL,
    mode TEXT,
    shown TEXT NOT NULL           -- JSON list of the item ids shown, in order (position = index + 1 + offset)
);
CREATE INDEX IF NOT EXISTS activity_searches_user ON activity_searches(user, at);
CREATE TABLE IF NOT EXISTS activity_events (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,           -- click | open | dwell | edit
    item_id TEXT NOT NULL,
    search_id INTEGER,            -- the search it came from, if any
    position INTEGER,             -- 1-based position in that search's results
    dwell_s REAL
);
CREATE INDEX IF NOT EXISTS activity_events_user ON activity_events(user, at);
CREATE INDEX IF NOT EXISTS activity_events_item ON activity_events(item_id);

-- Photo search by description (the [media] clip_* slot): one vector per image file in vectors-image/, keyed by ikey.
-- done = 0 until the vector is saved; content_hash says which version of the file the vector is of.
CREATE TABLE IF NOT EXISTS image_vectors (
    ikey INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL UNIQUE,
    content_hash TEXT,
    done INTEGER NOT NULL DEFAULT 0
);

-- LLM names of topics, cached by a hash of what the model was shown (organize/naming.py)
CREATE TABLE IF NOT EXISTS topic_names (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    made REAL NOT NULL
);
