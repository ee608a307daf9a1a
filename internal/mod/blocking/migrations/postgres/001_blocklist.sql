-- Blocklists (XEP-0191). One row per blocked JID of a user. The JID is
-- stored prepared, as jid.JID.String gives it (a domain, a bare JID, a
-- full JID or domain/resource), so equality is byte equality.
CREATE TABLE blocklist (
	host     TEXT NOT NULL,
	username TEXT NOT NULL,
	blocked  TEXT NOT NULL,
	PRIMARY KEY (host, username, blocked)
);
