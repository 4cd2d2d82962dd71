-- The schema of roost.db at version 3 (store 1, fleet 2, observability 3)
-- as the build before families became descriptors wrote it: test_schema.py
-- opens a database made from it.
CREATE TABLE roost_meta(  key TEXT PRIMARY KEY NOT NULL,  value TEXT NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE api_keys(  id INTEGER PRIMARY KEY,  key_hash TEXT NOT NULL UNIQUE,  created_at TEXT NOT NULL,  last_used_at TEXT) STRICT;
CREATE TABLE bots(  id TEXT PRIMARY KEY NOT NULL,  slug TEXT NOT NULL UNIQUE,  name TEXT NOT NULL,  description TEXT NOT NULL,  status TEXT NOT NULL,  category TEXT NOT NULL,  tags TEXT NOT NULL,  conversation_count INTEGER NOT NULL DEFAULT 0,  total_tokens_used INTEGER NOT NULL DEFAULT 0,  version_count INTEGER NOT NULL DEFAULT 0,  created_at TEXT NOT NULL,  updated_at TEXT NOT NULL,  last_active_at TEXT) STRICT, WITHOUT ROWID;
CREATE TABLE soul_versions(  id TEXT PRIMARY KEY NOT NULL,  bot_id TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,  version INTEGER NOT NULL,  content TEXT NOT NULL,  hash TEXT NOT NULL,  message TEXT,  created_at TEXT NOT NULL,  UNIQUE(bot_id, version)) STRICT;
CREATE TABLE chat_sessions(  id TEXT PRIMARY KEY NOT NULL,  bot_id TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,  title TEXT,  started_at TEXT NOT NULL,  ended_at TEXT,  total_input_tokens INTEGER NOT NULL DEFAULT 0,  total_output_tokens INTEGER NOT NULL DEFAULT 0,  message_count INTEGER NOT NULL DEFAULT 0,  model TEXT NOT NULL,  status TEXT NOT NULL DEFAULT 'active') STRICT;
CREATE INDEX chat_sessions_by_bot ON chat_sessions(bot_id, started_at);
CREATE TABLE chat_messages(  id TEXT PRIMARY KEY NOT NULL,  session_id TEXT NOT NULL REFERENCES chat_sessions(id) ON DELETE CASCADE,  role TEXT NOT NULL,  content TEXT NOT NULL,  created_at TEXT NOT NULL,  input_tokens INTEGER,  output_tokens INTEGER,  model TEXT,  stop_reason TEXT,  response_ms INTEGER,  partial INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX chat_messages_by_session ON chat_messages(session_id, created_at, id);
CREATE TABLE secrets(  key TEXT PRIMARY KEY NOT NULL,  value TEXT NOT NULL,  updated_at TEXT NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE bot_skills(  bot_id TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,  skill_name TEXT NOT NULL,  enabled INTEGER NOT NULL DEFAULT 1,  trust_tier TEXT,  version TEXT,  overrides TEXT NOT NULL DEFAULT '{}',  capabilities TEXT,  PRIMARY KEY(bot_id, skill_name)) STRICT, WITHOUT ROWID;
CREATE TABLE obs_sessions(  seq INTEGER PRIMARY KEY,  session_id TEXT NOT NULL UNIQUE,  session_name TEXT NOT NULL,  status TEXT NOT NULL,  created_at TEXT NOT NULL,  modified_at TEXT NOT NULL,  project_dir TEXT,  agent_name TEXT) STRICT;
CREATE INDEX obs_sessions_by_created ON obs_sessions(created_at, seq);
CREATE TABLE obs_events(  id INTEGER PRIMARY KEY,  session_id TEXT NOT NULL,  event_type TEXT NOT NULL,  timestamp TEXT NOT NULL,  tool_name_json TEXT,  tool_input TEXT,  tool_output TEXT,  error_json TEXT,  exit_code INTEGER,  reason_json TEXT,  role_json TEXT,  content TEXT,  pid INTEGER) STRICT;
CREATE INDEX obs_events_by_session ON obs_events(session_id, timestamp, id);
PRAGMA user_version=3;
