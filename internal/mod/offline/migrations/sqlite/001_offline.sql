-- Offline messages (XEP-0160). Users are stored prepared (the parts of a
-- bare JID as jid.JID gives them), so equality is byte equality.

-- One row per stored message, taken in id order: AUTOINCREMENT so that an
-- id is never reused once its message was delivered.
CREATE TABLE offline_messages (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	host     TEXT    NOT NULL,
	username TEXT    NOT NULL,
	stored   INTEGER NOT NULL, -- Unix time in microseconds
	stanza   TEXT    NOT NULL
);
CREATE INDEX offline_messages_user ON offline_messages (host, username, id);

-- How many messages each user has: the quota check reads it, and writers
-- for one user take its row first, which orders them.
CREATE TABLE offline_counts (
	host     TEXT    NOT NULL,
	username TEXT    NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (host, username)
);
