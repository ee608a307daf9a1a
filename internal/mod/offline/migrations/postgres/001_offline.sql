-- Offline messages (XEP-0160). Users are stored prepared (the parts of a
-- bare JID as jid.JID gives them), so equality is byte equality.

-- One row per stored message, taken in id order.
CREATE TABLE offline_messages (
	id       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	host     TEXT    NOT NULL,
	username TEXT    NOT NULL,
	stored   BIGINT  NOT NULL, -- Unix time in microseconds
	stanza   TEXT    NOT NULL
);
CREATE INDEX offline_messages_user ON offline_messages (host, username, id);

-- How many messages each user has: the quota check reads it, and writers
-- for one user take its row first (a row lock), which orders them, so the
-- count is exact under concurrent writers and a user's ids follow the
-- order of their commits.
CREATE TABLE offline_counts (
	host     TEXT    NOT NULL,
	username TEXT    NOT NULL,
	n        BIGINT  NOT NULL,
	PRIMARY KEY (host, username)
);
