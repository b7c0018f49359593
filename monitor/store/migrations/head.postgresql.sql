-- HEAD's schema as the migrations leave it, written by `python -m monitor.store.migrate`:
-- do not edit (store.migrate's doc). Statements are kept as the database keeps them.
CREATE FUNCTION releases_count_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE sources s SET release_count = s.release_count + c.n
            FROM (SELECT source_id, count(*) AS n FROM changed GROUP BY source_id) c
            WHERE s.id = c.source_id;
        ELSE
            UPDATE sources s SET release_count = s.release_count - c.n
            FROM (SELECT source_id, count(*) AS n FROM changed GROUP BY source_id) c
            WHERE s.id = c.source_id;
        END IF;
        RETURN NULL;
    END $$;

CREATE TABLE alarms (
    id integer NOT NULL,
    source_id character varying(100) NOT NULL,
    kind character varying(20) NOT NULL,
    detail text NOT NULL,
    raised_at timestamp with time zone NOT NULL,
    notified_at timestamp with time zone,
    cleared_at timestamp with time zone,
    recovery_notified_at timestamp with time zone,
    notice_lease_until timestamp with time zone,
    channel_id character varying(100)
);

CREATE SEQUENCE alarms_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE alarms_id_seq OWNED BY alarms.id;

CREATE TABLE alembic_version (
    version_num character varying(32) NOT NULL
);

CREATE TABLE alerts (
    id character varying(40) NOT NULL,
    rule_id character varying(100) NOT NULL,
    story_id integer NOT NULL,
    channel_id character varying(100) NOT NULL,
    release_id integer NOT NULL,
    match_id integer,
    status character varying(10) NOT NULL,
    attempts integer NOT NULL,
    last_error text,
    created_at timestamp with time zone NOT NULL,
    next_attempt_at timestamp with time zone,
    sent_at timestamp with time zone,
    lease_owner character varying(100),
    lease_until timestamp with time zone,
    digest_id character varying(40),
    message_id character varying(40),
    retry_requested_at timestamp with time zone
);

CREATE TABLE api_tokens (
    id integer NOT NULL,
    name character varying(100) NOT NULL,
    role character varying(10) NOT NULL,
    token_hash character varying(64) NOT NULL,
    created_by character varying(100),
    created_at timestamp with time zone NOT NULL,
    last_used_at timestamp with time zone
);

CREATE SEQUENCE api_tokens_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE api_tokens_id_seq OWNED BY api_tokens.id;

CREATE TABLE audit_log (
    id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    actor character varying(100) NOT NULL,
    action character varying(50) NOT NULL,
    target character varying(200) NOT NULL,
    before text,
    after text,
    address character varying(64)
);

CREATE SEQUENCE audit_log_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;

CREATE TABLE config_generation (
    id integer NOT NULL,
    generation integer NOT NULL,
    changed_at timestamp with time zone
);

CREATE SEQUENCE config_generation_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE config_generation_id_seq OWNED BY config_generation.id;

CREATE TABLE console_items (
    kind character varying(10) NOT NULL,
    id character varying(100) NOT NULL,
    body text NOT NULL,
    version integer NOT NULL,
    created_at timestamp with time zone NOT NULL,
    created_by character varying(100) NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by character varying(100) NOT NULL
);

CREATE TABLE console_sessions (
    id_hash character varying(64) NOT NULL,
    user_id integer NOT NULL,
    csrf_token character varying(64) NOT NULL,
    address character varying(64),
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE digests (
    id character varying(40) NOT NULL,
    channel_id character varying(100) NOT NULL,
    kind character varying(10) NOT NULL,
    status character varying(10) NOT NULL,
    attempts integer NOT NULL,
    last_error text,
    created_at timestamp with time zone NOT NULL,
    period_end timestamp with time zone,
    next_attempt_at timestamp with time zone,
    sent_at timestamp with time zone,
    lease_owner character varying(100),
    lease_until timestamp with time zone
);

CREATE TABLE matches (
    id integer NOT NULL,
    rule_id character varying(100) NOT NULL,
    release_id integer NOT NULL,
    story_id integer,
    hits text NOT NULL,
    matched_at timestamp with time zone NOT NULL,
    hit_count integer
);

CREATE SEQUENCE matches_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE matches_id_seq OWNED BY matches.id;

CREATE TABLE release_revisions (
    id integer NOT NULL,
    release_id integer NOT NULL,
    revision integer NOT NULL,
    title text NOT NULL,
    summary text NOT NULL,
    content text NOT NULL,
    content_hash character varying(64) NOT NULL,
    seen_at timestamp with time zone NOT NULL
);

CREATE SEQUENCE release_revisions_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE release_revisions_id_seq OWNED BY release_revisions.id;

CREATE TABLE releases (
    id integer NOT NULL,
    source_id character varying(100) NOT NULL,
    identity text NOT NULL,
    story_id integer,
    url text,
    title text NOT NULL,
    summary text NOT NULL,
    content text NOT NULL,
    summary_raw text,
    content_raw text,
    author text,
    language character varying(20),
    published_at timestamp with time zone,
    published_raw text,
    content_hash character varying(64) NOT NULL,
    revision integer NOT NULL,
    first_seen_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    matched_hash character varying(64),
    alertable boolean NOT NULL,
    search_text text,
    story_bands text,
    search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, COALESCE(search_text, ''::text))) STORED
);

CREATE SEQUENCE releases_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE releases_id_seq OWNED BY releases.id;

CREATE TABLE rule_mutes (
    rule_id character varying(100) NOT NULL,
    until timestamp with time zone NOT NULL,
    muted_by character varying(100) NOT NULL,
    muted_at timestamp with time zone NOT NULL
);

CREATE TABLE sign_in_failures (
    id integer NOT NULL,
    name character varying(100) NOT NULL,
    address character varying(64) NOT NULL,
    at timestamp with time zone NOT NULL,
    locks_until timestamp with time zone
);

CREATE SEQUENCE sign_in_failures_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE sign_in_failures_id_seq OWNED BY sign_in_failures.id;

CREATE TABLE sources (
    id character varying(100) NOT NULL,
    url text NOT NULL,
    kind character varying(10) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    status character varying(10) NOT NULL,
    last_poll_at timestamp with time zone,
    last_success_at timestamp with time zone,
    next_poll_at timestamp with time zone,
    last_error text,
    last_error_kind character varying(30),
    last_error_at timestamp with time zone,
    last_warning text,
    consecutive_failures integer NOT NULL,
    etag text,
    last_modified character varying(100),
    body_sha256 character varying(64),
    moved_to text,
    baseline_done boolean NOT NULL,
    items_seen integer NOT NULL,
    items_skipped integer NOT NULL,
    lease_owner character varying(100),
    lease_until timestamp with time zone,
    release_count integer DEFAULT 0 NOT NULL
);

CREATE TABLE stories (
    id integer NOT NULL,
    created_at timestamp with time zone NOT NULL,
    founder_release_id integer
);

CREATE SEQUENCE stories_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE stories_id_seq OWNED BY stories.id;

CREATE TABLE story_bands (
    band_key character varying(64) NOT NULL,
    story_id integer NOT NULL,
    release_id integer NOT NULL,
    first_seen_at timestamp with time zone NOT NULL
);

CREATE TABLE users (
    id integer NOT NULL,
    name character varying(100) NOT NULL,
    role character varying(10) NOT NULL,
    password_hash text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);

CREATE SEQUENCE users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE users_id_seq OWNED BY users.id;

ALTER TABLE ONLY alarms ALTER COLUMN id SET DEFAULT nextval('alarms_id_seq'::regclass);

ALTER TABLE ONLY api_tokens ALTER COLUMN id SET DEFAULT nextval('api_tokens_id_seq'::regclass);

ALTER TABLE ONLY audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq'::regclass);

ALTER TABLE ONLY config_generation ALTER COLUMN id SET DEFAULT nextval('config_generation_id_seq'::regclass);

ALTER TABLE ONLY matches ALTER COLUMN id SET DEFAULT nextval('matches_id_seq'::regclass);

ALTER TABLE ONLY release_revisions ALTER COLUMN id SET DEFAULT nextval('release_revisions_id_seq'::regclass);

ALTER TABLE ONLY releases ALTER COLUMN id SET DEFAULT nextval('releases_id_seq'::regclass);

ALTER TABLE ONLY sign_in_failures ALTER COLUMN id SET DEFAULT nextval('sign_in_failures_id_seq'::regclass);

ALTER TABLE ONLY stories ALTER COLUMN id SET DEFAULT nextval('stories_id_seq'::regclass);

ALTER TABLE ONLY users ALTER COLUMN id SET DEFAULT nextval('users_id_seq'::regclass);

INSERT INTO alembic_version VALUES ('0014');

INSERT INTO config_generation VALUES (1, 0, NULL);

SELECT pg_catalog.setval('alarms_id_seq', 1, false);

SELECT pg_catalog.setval('api_tokens_id_seq', 1, false);

SELECT pg_catalog.setval('audit_log_id_seq', 1, false);

SELECT pg_catalog.setval('config_generation_id_seq', 1, false);

SELECT pg_catalog.setval('matches_id_seq', 1, false);

SELECT pg_catalog.setval('release_revisions_id_seq', 1, false);

SELECT pg_catalog.setval('releases_id_seq', 1, false);

SELECT pg_catalog.setval('sign_in_failures_id_seq', 1, false);

SELECT pg_catalog.setval('stories_id_seq', 1, false);

SELECT pg_catalog.setval('users_id_seq', 1, false);

ALTER TABLE ONLY alarms
    ADD CONSTRAINT alarms_pkey PRIMARY KEY (id);

ALTER TABLE ONLY alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);

ALTER TABLE ONLY alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY config_generation
    ADD CONSTRAINT config_generation_pkey PRIMARY KEY (id);

ALTER TABLE ONLY console_items
    ADD CONSTRAINT console_items_pkey PRIMARY KEY (kind, id);

ALTER TABLE ONLY console_sessions
    ADD CONSTRAINT console_sessions_pkey PRIMARY KEY (id_hash);

ALTER TABLE ONLY digests
    ADD CONSTRAINT digests_pkey PRIMARY KEY (id);

ALTER TABLE ONLY matches
    ADD CONSTRAINT matches_pkey PRIMARY KEY (id);

ALTER TABLE ONLY release_revisions
    ADD CONSTRAINT release_revisions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY releases
    ADD CONSTRAINT releases_pkey PRIMARY KEY (id);

ALTER TABLE ONLY rule_mutes
    ADD CONSTRAINT rule_mutes_pkey PRIMARY KEY (rule_id);

ALTER TABLE ONLY sign_in_failures
    ADD CONSTRAINT sign_in_failures_pkey PRIMARY KEY (id);

ALTER TABLE ONLY sources
    ADD CONSTRAINT sources_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stories
    ADD CONSTRAINT stories_pkey PRIMARY KEY (id);

ALTER TABLE ONLY story_bands
    ADD CONSTRAINT story_bands_pkey PRIMARY KEY (band_key, release_id);

ALTER TABLE ONLY alerts
    ADD CONSTRAINT uq_alerts_rule_story_channel UNIQUE (rule_id, story_id, channel_id);

ALTER TABLE ONLY api_tokens
    ADD CONSTRAINT uq_api_tokens_hash UNIQUE (token_hash);

ALTER TABLE ONLY api_tokens
    ADD CONSTRAINT uq_api_tokens_name UNIQUE (name);

ALTER TABLE ONLY matches
    ADD CONSTRAINT uq_matches_rule_release UNIQUE (rule_id, release_id);

ALTER TABLE ONLY releases
    ADD CONSTRAINT uq_releases_source_identity UNIQUE (source_id, identity);

ALTER TABLE ONLY release_revisions
    ADD CONSTRAINT uq_revisions_release UNIQUE (release_id, revision);

ALTER TABLE ONLY users
    ADD CONSTRAINT uq_users_name UNIQUE (name);

ALTER TABLE ONLY users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

CREATE INDEX ix_alerts_channel_sent ON alerts USING btree (channel_id, sent_at);

CREATE INDEX ix_alerts_channel_status ON alerts USING btree (channel_id, status);

CREATE INDEX ix_alerts_created ON alerts USING btree (created_at, id);

CREATE INDEX ix_alerts_digest_id ON alerts USING btree (digest_id);

CREATE INDEX ix_alerts_due ON alerts USING btree (status, next_attempt_at);

CREATE INDEX ix_alerts_release_id ON alerts USING btree (release_id);

CREATE INDEX ix_alerts_retry_requested ON alerts USING btree (channel_id, retry_requested_at) WHERE (retry_requested_at IS NOT NULL);

CREATE INDEX ix_alerts_story ON alerts USING btree (story_id);

CREATE INDEX ix_audit_at ON audit_log USING btree (at, id);

CREATE INDEX ix_console_sessions_expires_at ON console_sessions USING btree (expires_at);

CREATE INDEX ix_console_sessions_user_id ON console_sessions USING btree (user_id);

CREATE INDEX ix_digests_due ON digests USING btree (channel_id, status, next_attempt_at);

CREATE INDEX ix_digests_sent ON digests USING btree (channel_id, sent_at);

CREATE INDEX ix_matches_matched ON matches USING btree (matched_at);

CREATE INDEX ix_matches_release_id ON matches USING btree (release_id);

CREATE INDEX ix_release_revisions_release_id ON release_revisions USING btree (release_id);

CREATE INDEX ix_releases_pending ON releases USING btree (id) WHERE ((matched_hash IS NULL) OR ((matched_hash)::text <> (content_hash)::text));

CREATE INDEX ix_releases_pending_alertable ON releases USING btree (id) WHERE (((matched_hash IS NULL) OR ((matched_hash)::text <> (content_hash)::text)) AND alertable);

CREATE INDEX ix_releases_seen ON releases USING btree (first_seen_at, id);

CREATE INDEX ix_releases_source_seen ON releases USING btree (source_id, first_seen_at, id);

CREATE INDEX ix_releases_story_id ON releases USING btree (story_id);

CREATE INDEX ix_releases_vector ON releases USING gin (search_vector);

CREATE INDEX ix_sign_in_failures_address ON sign_in_failures USING btree (address, at);

CREATE INDEX ix_sign_in_failures_name ON sign_in_failures USING btree (name, at);

CREATE INDEX ix_sources_next_poll_at ON sources USING btree (next_poll_at);

CREATE INDEX ix_story_bands_release_id ON story_bands USING btree (release_id);

CREATE INDEX ix_story_bands_story_id ON story_bands USING btree (story_id);

CREATE UNIQUE INDEX uq_alarms_open ON alarms USING btree (source_id, kind) WHERE (cleared_at IS NULL);

CREATE UNIQUE INDEX uq_stories_founder ON stories USING btree (founder_release_id);

CREATE TRIGGER releases_count_ad AFTER DELETE ON releases REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION releases_count_change();

CREATE TRIGGER releases_count_ai AFTER INSERT ON releases REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION releases_count_change();

ALTER TABLE ONLY alerts
    ADD CONSTRAINT alerts_match_id_fkey FOREIGN KEY (match_id) REFERENCES matches(id);

ALTER TABLE ONLY alerts
    ADD CONSTRAINT alerts_release_id_fkey FOREIGN KEY (release_id) REFERENCES releases(id);

ALTER TABLE ONLY alerts
    ADD CONSTRAINT alerts_story_id_fkey FOREIGN KEY (story_id) REFERENCES stories(id);

ALTER TABLE ONLY console_sessions
    ADD CONSTRAINT console_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE ONLY matches
    ADD CONSTRAINT matches_release_id_fkey FOREIGN KEY (release_id) REFERENCES releases(id);

ALTER TABLE ONLY matches
    ADD CONSTRAINT matches_story_id_fkey FOREIGN KEY (story_id) REFERENCES stories(id);

ALTER TABLE ONLY release_revisions
    ADD CONSTRAINT release_revisions_release_id_fkey FOREIGN KEY (release_id) REFERENCES releases(id);

ALTER TABLE ONLY releases
    ADD CONSTRAINT releases_source_id_fkey FOREIGN KEY (source_id) REFERENCES sources(id);

ALTER TABLE ONLY releases
    ADD CONSTRAINT releases_story_id_fkey FOREIGN KEY (story_id) REFERENCES stories(id);

ALTER TABLE ONLY story_bands
    ADD CONSTRAINT story_bands_release_id_fkey FOREIGN KEY (release_id) REFERENCES releases(id);

ALTER TABLE ONLY story_bands
    ADD CONSTRAINT story_bands_story_id_fkey FOREIGN KEY (story_id) REFERENCES stories(id);
