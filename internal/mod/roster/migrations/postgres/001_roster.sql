-- Rosters (RFC 6121 §2). Users and contacts are stored prepared (bare
-- JIDs as jid.JID.String gives them), so equality is byte equality.

-- One row per user who has ever had a roster change: the roster version
-- (RFC 6121 §2.6) and the version of the last deletion.
CREATE TABLE roster_versions (
	host     TEXT    NOT NULL,
	username TEXT    NOT NULL,
	epoch    BIGINT  NOT NULL,
	version  BIGINT  NOT NULL,
	removed  BIGINT  NOT NULL,
	PRIMARY KEY (host, username)
);

-- The items. groups is a JSON array of strings, sorted; version is the
-- roster version of the item's last change.
CREATE TABLE roster_items (
	host         TEXT    NOT NULL,
	username     TEXT    NOT NULL,
	contact      TEXT    NOT NULL,
	name         TEXT    NOT NULL,
	groups       TEXT    NOT NULL,
	subscription TEXT    NOT NULL,
	ask          BOOLEAN NOT NULL,
	approved     BOOLEAN NOT NULL,
	version      BIGINT  NOT NULL,
	PRIMARY KEY (host, username, contact)
);

-- Subscription requests the user has not answered ("Pending In", RFC 6121
-- §3.1.3), with the request as received.
CREATE TABLE roster_pending_in (
	host     TEXT NOT NULL,
	username TEXT NOT NULL,
	contact  TEXT NOT NULL,
	stanza   TEXT NOT NULL,
	PRIMARY KEY (host, username, contact)
);
