-- HEAD's schema as the migrations leave it, written by `python -m monitor.store.migrate`:
-- do not edit (store.migrate's doc). Statements are kept as the database keeps them.
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE sources (
	id VARCHAR(100) NOT NULL, 
	url TEXT NOT NULL, 
	kind VARCHAR(10) NOT NULL, 
	created_at DATETIME NOT NULL, 
	status VARCHAR(10) NOT NULL, 
	last_poll_at DATETIME, 
	last_success_at DATETIME, 
	next_poll_at DATETIME, 
	last_error TEXT, 
	last_error_kind VARCHAR(30), 
	last_error_at DATETIME, 
	last_warning TEXT, 
	consecutive_failures INTEGER NOT NULL, 
	etag TEXT, 
	last_modified VARCHAR(100), 
	body_sha256 VARCHAR(64), 
	moved_to TEXT, 
	baseline_done BOOLEAN NOT NULL, 
	items_seen INTEGER NOT NULL, 
	items_skipped INTEGER NOT NULL, 
	lease_owner VARCHAR(100), 
	lease_until DATETIME, release_count INTEGER DEFAULT '0' NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE stories (
	id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, founder_release_id INTEGER, 
	PRIMARY KEY (id)
);
CREATE TABLE releases (
	id INTEGER NOT NULL, 
	source_id VARCHAR(100) NOT NULL, 
	identity TEXT NOT NULL, 
	story_id INTEGER, 
	url TEXT, 
	title TEXT NOT NULL, 
	summary TEXT NOT NULL, 
	content TEXT NOT NULL, 
	summary_raw TEXT, 
	content_raw TEXT, 
	author TEXT, 
	language VARCHAR(20), 
	published_at DATETIME, 
	published_raw TEXT, 
	content_hash VARCHAR(64) NOT NULL, 
	revision INTEGER NOT NULL, 
	first_seen_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	matched_hash VARCHAR(64), 
	alertable BOOLEAN NOT NULL, search_text TEXT, story_bands TEXT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(source_id) REFERENCES sources (id), 
	FOREIGN KEY(story_id) REFERENCES stories (id), 
	CONSTRAINT uq_releases_source_identity UNIQUE (source_id, identity)
);
CREATE TABLE matches (
	id INTEGER NOT NULL, 
	rule_id VARCHAR(100) NOT NULL, 
	release_id INTEGER NOT NULL, 
	story_id INTEGER, 
	hits TEXT NOT NULL, 
	matched_at DATETIME NOT NULL, hit_count INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(release_id) REFERENCES releases (id), 
	FOREIGN KEY(story_id) REFERENCES stories (id), 
	CONSTRAINT uq_matches_rule_release UNIQUE (rule_id, release_id)
);
CREATE TABLE release_revisions (
	id INTEGER NOT NULL, 
	release_id INTEGER NOT NULL, 
	revision INTEGER NOT NULL, 
	title TEXT NOT NULL, 
	summary TEXT NOT NULL, 
	content TEXT NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	seen_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(release_id) REFERENCES releases (id), 
	CONSTRAINT uq_revisions_release UNIQUE (release_id, revision)
);
CREATE TABLE alerts (
	id VARCHAR(40) NOT NULL, 
	rule_id VARCHAR(100) NOT NULL, 
	story_id INTEGER NOT NULL, 
	channel_id VARCHAR(100) NOT NULL, 
	release_id INTEGER NOT NULL, 
	match_id INTEGER, 
	status VARCHAR(10) NOT NULL, 
	attempts INTEGER NOT NULL, 
	last_error TEXT, 
	created_at DATETIME NOT NULL, 
	next_attempt_at DATETIME, 
	sent_at DATETIME, 
	lease_owner VARCHAR(100), 
	lease_until DATETIME, digest_id VARCHAR(40), message_id VARCHAR(40), retry_requested_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(match_id) REFERENCES matches (id), 
	FOREIGN KEY(release_id) REFERENCES releases (id), 
	FOREIGN KEY(story_id) REFERENCES stories (id), 
	CONSTRAINT uq_alerts_rule_story_channel UNIQUE (rule_id, story_id, channel_id)
);
CREATE TABLE story_bands (
	band_key VARCHAR(64) NOT NULL, 
	story_id INTEGER NOT NULL, 
	release_id INTEGER NOT NULL, 
	first_seen_at DATETIME NOT NULL, 
	PRIMARY KEY (band_key, release_id), 
	FOREIGN KEY(release_id) REFERENCES releases (id), 
	FOREIGN KEY(story_id) REFERENCES stories (id)
);
CREATE VIRTUAL TABLE releases_fts USING fts5(search_text, content='releases', content_rowid='id', tokenize='unicode61');
CREATE TABLE digests (
	id VARCHAR(40) NOT NULL, 
	channel_id VARCHAR(100) NOT NULL, 
	kind VARCHAR(10) NOT NULL, 
	status VARCHAR(10) NOT NULL, 
	attempts INTEGER NOT NULL, 
	last_error TEXT, 
	created_at DATETIME NOT NULL, 
	period_end DATETIME, 
	next_attempt_at DATETIME, 
	sent_at DATETIME, 
	lease_owner VARCHAR(100), 
	lease_until DATETIME, 
	PRIMARY KEY (id)
);
CREATE TABLE alarms (
	id INTEGER NOT NULL, 
	source_id VARCHAR(100) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	detail TEXT NOT NULL, 
	raised_at DATETIME NOT NULL, 
	notified_at DATETIME, 
	cleared_at DATETIME, 
	recovery_notified_at DATETIME, notice_lease_until DATETIME, channel_id VARCHAR(100), 
	PRIMARY KEY (id)
);
CREATE TABLE users (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	role VARCHAR(10) NOT NULL, 
	password_hash TEXT, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_users_name UNIQUE (name)
);
CREATE TABLE console_sessions (
	id_hash VARCHAR(64) NOT NULL, 
	user_id INTEGER NOT NULL, 
	csrf_token VARCHAR(64) NOT NULL, 
	address VARCHAR(64), 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (id_hash), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE TABLE api_tokens (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	role VARCHAR(10) NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	created_by VARCHAR(100), 
	created_at DATETIME NOT NULL, 
	last_used_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_api_tokens_name UNIQUE (name), 
	CONSTRAINT uq_api_tokens_hash UNIQUE (token_hash)
);
CREATE TABLE sign_in_failures (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	address VARCHAR(64) NOT NULL, 
	at DATETIME NOT NULL, 
	locks_until DATETIME, 
	PRIMARY KEY (id)
);
CREATE TABLE audit_log (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(100) NOT NULL, 
	action VARCHAR(50) NOT NULL, 
	target VARCHAR(200) NOT NULL, 
	"before" TEXT, 
	"after" TEXT, 
	address VARCHAR(64), 
	PRIMARY KEY (id)
);
CREATE TABLE console_items (
	kind VARCHAR(10) NOT NULL, 
	id VARCHAR(100) NOT NULL, 
	body TEXT NOT NULL, 
	version INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(100) NOT NULL, 
	updated_at DATETIME NOT NULL, 
	updated_by VARCHAR(100) NOT NULL, 
	PRIMARY KEY (kind, id)
);
CREATE TABLE rule_mutes (
	rule_id VARCHAR(100) NOT NULL, 
	until DATETIME NOT NULL, 
	muted_by VARCHAR(100) NOT NULL, 
	muted_at DATETIME NOT NULL, 
	PRIMARY KEY (rule_id)
);
CREATE TABLE config_generation (
	id INTEGER NOT NULL, 
	generation INTEGER NOT NULL, 
	changed_at DATETIME, 
	PRIMARY KEY (id)
);
INSERT INTO alembic_version (version_num) VALUES ('0014');
INSERT INTO config_generation (id, generation, changed_at) VALUES (1, 0, NULL);
CREATE INDEX ix_sources_next_poll_at ON sources (next_poll_at);
CREATE INDEX ix_releases_story_id ON releases (story_id);
CREATE INDEX ix_matches_release_id ON matches (release_id);
CREATE INDEX ix_release_revisions_release_id ON release_revisions (release_id);
CREATE INDEX ix_alerts_due ON alerts (status, next_attempt_at);
CREATE INDEX ix_alerts_release_id ON alerts (release_id);
CREATE INDEX ix_story_bands_release_id ON story_bands (release_id);
CREATE INDEX ix_story_bands_story_id ON story_bands (story_id);
CREATE INDEX ix_digests_due ON digests (channel_id, status, next_attempt_at);
CREATE INDEX ix_digests_sent ON digests (channel_id, sent_at);
CREATE INDEX ix_alerts_digest_id ON alerts (digest_id);
CREATE INDEX ix_alerts_channel_sent ON alerts (channel_id, sent_at);
CREATE UNIQUE INDEX uq_alarms_open ON alarms (source_id, kind) WHERE cleared_at IS NULL;
CREATE UNIQUE INDEX uq_stories_founder ON stories (founder_release_id);
CREATE INDEX ix_releases_pending ON releases (id) WHERE matched_hash IS NULL OR matched_hash != content_hash;
CREATE INDEX ix_console_sessions_user_id ON console_sessions (user_id);
CREATE INDEX ix_console_sessions_expires_at ON console_sessions (expires_at);
CREATE INDEX ix_sign_in_failures_name ON sign_in_failures (name, at);
CREATE INDEX ix_sign_in_failures_address ON sign_in_failures (address, at);
CREATE INDEX ix_audit_at ON audit_log (at, id);
CREATE INDEX ix_releases_seen ON releases (first_seen_at, id);
CREATE INDEX ix_releases_source_seen ON releases (source_id, first_seen_at, id);
CREATE INDEX ix_alerts_created ON alerts (created_at, id);
CREATE INDEX ix_alerts_story ON alerts (story_id);
CREATE INDEX ix_matches_matched ON matches (matched_at);
CREATE INDEX ix_alerts_retry_requested ON alerts (channel_id, retry_requested_at) WHERE retry_requested_at IS NOT NULL;
CREATE INDEX ix_alerts_channel_status ON alerts (channel_id, status);
CREATE INDEX ix_releases_pending_alertable ON releases (id) WHERE (matched_hash IS NULL OR matched_hash != content_hash) AND alertable = 1;
CREATE TRIGGER releases_fts_ai AFTER INSERT ON releases BEGIN INSERT INTO releases_fts(rowid, search_text) VALUES (new.id, new.search_text); END;
CREATE TRIGGER releases_fts_ad AFTER DELETE ON releases BEGIN INSERT INTO releases_fts(releases_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END;
CREATE TRIGGER releases_fts_au AFTER UPDATE OF search_text ON releases BEGIN INSERT INTO releases_fts(releases_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); INSERT INTO releases_fts(rowid, search_text) VALUES (new.id, new.search_text); END;
CREATE TRIGGER releases_count_ai AFTER INSERT ON releases BEGIN UPDATE sources SET release_count = release_count + 1 WHERE id = new.source_id; END;
CREATE TRIGGER releases_count_ad AFTER DELETE ON releases BEGIN UPDATE sources SET release_count = release_count - 1 WHERE id = old.source_id; END;
