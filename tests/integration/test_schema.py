"""The schema of roost.db is one numbering for every profile (store.h): the
store's own step 1, fleet's 2, observability's 3, documents' 4, rpg's 5,
fleet's 6 (the bots' emoji) and 7 (the builder's drafts), each in its family's desc.c. A profile that does not build a family still writes its
tables, so a database moves between builds; a database written before the
steps moved into the families (version 3) keeps its rows and takes only the
steps released after it."""

import os
import sqlite3

from roostlib import Server

TABLES = {"roost_meta", "api_keys", "bots", "soul_versions", "chat_sessions",
          "chat_messages", "secrets", "bot_skills", "obs_sessions", "obs_events",
          "documents", "doc_tags", "doc_tag_counts", "rpg_personas", "rpg_projects",
          "rpg_project_tools", "rpg_quests", "rpg_phases", "rpg_xp", "rpg_xp_days",
          "rpg_xp_cats", "rpg_hooks_seen", "rpg_events", "builder_drafts",
          "builder_answers"}
FIXTURE = os.path.join(os.path.dirname(__file__), "data", "schema_v3.sql")


def schema(path):
    db = sqlite3.connect(path)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        rows = sorted((n, (s or "").replace(" ", "")) for n, s in
                      db.execute("SELECT name, sql FROM sqlite_master"))
    finally:
        db.close()
    return version, rows


def test_fresh_database_has_every_family_schema(tmp_path):
    srv = Server(tmp_path).start()
    srv.stop()
    version, rows = schema(os.path.join(srv.data_dir, "roost.db"))
    assert version == 7, srv.logs()
    assert TABLES <= {n for n, _ in rows}, rows
    assert "schema migrated to version 2 (fleet)" in srv.stdout() + srv.stderr()
    assert "schema migrated to version 6 (fleet)" in srv.stdout() + srv.stderr()
    assert "schema migrated to version 7 (fleet)" in srv.stdout() + srv.stderr()
    assert any(n == "bots" and "emoji" in s for n, s in rows), rows


def test_released_database_takes_only_the_later_steps(tmp_path):
    data = tmp_path / "roost-data"
    data.mkdir()
    db = sqlite3.connect(str(data / "roost.db"))
    with open(FIXTURE, encoding="utf-8") as f:
        db.executescript(f.read())
    db.execute("INSERT INTO obs_sessions(session_id, session_name, status, created_at,"
               " modified_at) VALUES ('s1', 'n', 'running', 't', 't')")
    db.execute("INSERT INTO bots(id, slug, name, description, status, category, tags,"
               " created_at, updated_at) VALUES ('b1', 'old', 'Old', '', 'active',"
               " 'assistant', '[]', 't', 't')")
    db.commit()
    db.close()
    before = schema(str(data / "roost.db"))
    srv = Server(tmp_path, data_dir=str(data)).start()
    srv.stop()
    logs = srv.stdout() + srv.stderr()
    migrated = [ln for ln in logs.splitlines() if "migrated" in ln]
    assert len(migrated) == 4 and "schema migrated to version 4 (documents)" in migrated[0], logs
    assert "schema migrated to version 5 (rpg)" in migrated[1], logs
    assert "schema migrated to version 6 (fleet)" in migrated[2], logs
    assert "schema migrated to version 7 (fleet)" in migrated[3], logs
    version, rows = schema(str(data / "roost.db"))
    assert version == 7
    # step 6 adds a column to bots, step 7 new tables; every other table is as it was
    assert [r for r in rows if r[0] in {n for n, _ in before[1]} and r[0] != "bots"] == \
        [r for r in before[1] if r[0] != "bots"]
    assert {"documents", "doc_tags"} <= {n for n, _ in rows}
    db = sqlite3.connect(str(data / "roost.db"))
    assert db.execute("SELECT count(*) FROM obs_sessions").fetchone()[0] == 1
    assert db.execute("SELECT slug, emoji FROM bots").fetchall() == [("old", None)]
    db.close()
