-- The generic per-user key-value store (storage.KV, STYLE.md §2): small
-- values a module keeps per account. owner is the module's name, so each
-- module sees only its own rows; host and username are stored prepared
-- (PRECIS), as in users. The key leads with the account so that deleting
-- one (user.removed) is a range of the primary key.
CREATE TABLE user_kv (
	host     TEXT NOT NULL,
	username TEXT NOT NULL,
	owner    TEXT NOT NULL,
	kv_key   TEXT NOT NULL,
	value    BLOB NOT NULL,
	PRIMARY KEY (host, username, owner, kv_key)
) WITHOUT ROWID;
