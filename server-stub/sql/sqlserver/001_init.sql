-- SQL Server (Azure SQL Database) migration 1: the same schema as sql/postgresql/001_init.sql.
--
-- UNTESTED REFERENCE. No SQL Server runs on this project's machines and the stub has no SQL
-- Server store: only SQLite and PostgreSQL are built and tested here (tests/stub/store_test.cpp).
-- This file and claim_outbox.sql show what a SQL Server store would start from; check both
-- against a real server before relying on them.
--
-- Types: ids are VARCHAR with a binary UTF-8 collation (byte order, as SQLite and the
-- PostgreSQL schema's COLLATE "C"; needs SQL Server 2019+ / Azure SQL for the _UTF8
-- collations), long texts VARCHAR(MAX) in UTF-8, times BIGINT ms since the epoch, flags BIT.
-- Key columns are bounded (an index key is at most 1700 bytes): the API's ids are short.
CREATE TABLE SchemaMigrations(
    Version INT NOT NULL PRIMARY KEY,
    Name VARCHAR(200) NOT NULL,
    AppliedAt BIGINT NOT NULL);

CREATE TABLE Users(
    UserId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL PRIMARY KEY,
    DisplayName VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NOT NULL);
CREATE TABLE TeamMembers(
    TeamId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    UserId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    PRIMARY KEY(TeamId, UserId));
CREATE INDEX TeamMembersUser ON TeamMembers(UserId);

CREATE TABLE Conversations(
    ConversationId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL PRIMARY KEY,
    Title VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NOT NULL,
    ContextJson VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NOT NULL DEFAULT '{}',
    CreatedBy VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NULL,
    CreatedAt BIGINT NOT NULL,
    LastSeq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE ConversationUsers(
    ConversationId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    UserId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    LastReadSeq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY(ConversationId, UserId));
CREATE INDEX ConversationUsersUser ON ConversationUsers(UserId);

CREATE TABLE Messages(
    MessageId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL PRIMARY KEY,
    ConversationId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    Seq BIGINT NOT NULL,
    SenderId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    Body VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NOT NULL,
    ClientMessageId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NULL,
    AttachmentJson VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NULL,
    CreatedAt BIGINT NOT NULL,
    CONSTRAINT MessagesSeq UNIQUE(ConversationId, Seq));
-- SQL Server's UNIQUE treats NULLs as equal: the idempotency key is unique only where it is set.
CREATE UNIQUE INDEX MessagesClientId ON Messages(ConversationId, SenderId, ClientMessageId)
    WHERE ClientMessageId IS NOT NULL;

CREATE TABLE OutboxEvents(
    Id BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY,
    EventId VARCHAR(300) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL UNIQUE,
    Type VARCHAR(100) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    Target VARCHAR(300) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    PayloadJson VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NOT NULL,
    CreatedAt BIGINT NOT NULL,
    ProcessedAt BIGINT NULL,
    RetryCount INT NOT NULL DEFAULT 0,
    NextAttemptAt BIGINT NOT NULL,
    LastError VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NULL,
    Dead BIT NOT NULL DEFAULT 0,
    ClaimedBy VARCHAR(100) COLLATE Latin1_General_100_BIN2_UTF8 NULL,
    ClaimedUntil BIGINT NULL);
CREATE INDEX OutboxPending ON OutboxEvents(Id) INCLUDE(Target, NextAttemptAt, ClaimedBy, ClaimedUntil)
    WHERE ProcessedAt IS NULL AND Dead = 0;
CREATE INDEX OutboxPendingTarget ON OutboxEvents(Target, Id) INCLUDE(ClaimedBy, ClaimedUntil)
    WHERE ProcessedAt IS NULL AND Dead = 0;

CREATE TABLE Notifications(
    Seq BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY,
    NotificationId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL UNIQUE,
    TargetKind VARCHAR(16) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    TargetId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL DEFAULT '',
    Title VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NOT NULL,
    Body VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NOT NULL,
    ActionLabel VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NULL,
    ActionUrl VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NULL,
    CreatedAt BIGINT NOT NULL,
    CreatedBy VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL DEFAULT '');
CREATE INDEX NotificationsTarget ON Notifications(TargetKind, TargetId, Seq);
CREATE TABLE NotificationReads(
    NotificationId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    UserId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    SeenAt BIGINT NULL,
    ReadAt BIGINT NULL,
    ArchivedAt BIGINT NULL,
    PRIMARY KEY(NotificationId, UserId));

CREATE TABLE Blobs(
    BlobId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL PRIMARY KEY,
    Name VARCHAR(MAX) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NOT NULL,
    ContentType VARCHAR(256) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NOT NULL,
    Size BIGINT NOT NULL,
    UploaderId VARCHAR(256) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL,
    CreatedAt BIGINT NOT NULL);
CREATE INDEX BlobsUploader ON Blobs(UploaderId);

INSERT INTO SchemaMigrations(Version, Name, AppliedAt)
    VALUES(1, '001_init', DATEDIFF_BIG(millisecond, '1970-01-01', SYSUTCDATETIME()));
