-- SQL Server (Azure SQL Database) migration 6: presence, as sql/postgresql/006_presence.sql.
--
-- UNTESTED REFERENCE (see 001_init.sql): only SQLite and PostgreSQL are tested on this
-- project's machines.
CREATE TABLE PresenceConnections (
    ConnectionId VARCHAR(128) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL PRIMARY KEY,
    UserId VARCHAR(128) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    ConnectedAt BIGINT NOT NULL,
    DisconnectedAt BIGINT NULL
);
CREATE INDEX PresenceConnectionsByUser ON PresenceConnections(UserId);
CREATE INDEX PresenceConnectionsEnded ON PresenceConnections(DisconnectedAt);
CREATE TABLE Presence (
    UserId VARCHAR(128) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL PRIMARY KEY,
    Online BIT NOT NULL,
    Version BIGINT NOT NULL,
    ChangedAt BIGINT NOT NULL
);
