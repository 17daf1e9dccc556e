-- PostgreSQL migration 6: presence, as SQLite's migration 8 (sql/sqlite/008_presence.sql).
-- Several instances may receive one user's events: each change locks the user's Presence row.
CREATE TABLE PresenceConnections (
    ConnectionId TEXT COLLATE "C" PRIMARY KEY,
    UserId TEXT COLLATE "C" NOT NULL,
    ConnectedAt BIGINT NOT NULL,
    DisconnectedAt BIGINT
);
CREATE INDEX PresenceConnectionsByUser ON PresenceConnections(UserId);
CREATE INDEX PresenceConnectionsEnded ON PresenceConnections(DisconnectedAt);
CREATE TABLE Presence (
    UserId TEXT COLLATE "C" PRIMARY KEY,
    Online BOOLEAN NOT NULL,
    Version BIGINT NOT NULL,
    ChangedAt BIGINT NOT NULL
);
