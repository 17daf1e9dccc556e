-- SQL Server (Azure SQL Database) migration 3: edits and deletes, as
-- sql/postgresql/003_edits.sql (the change counter, message versions, tombstones, blob links).
--
-- UNTESTED REFERENCE (see 001_init.sql): only SQLite and PostgreSQL are tested on this
-- project's machines.
ALTER TABLE Conversations ADD EditRev BIGINT NOT NULL CONSTRAINT ConversationsEditRev DEFAULT 0;
ALTER TABLE Messages ADD Version BIGINT NOT NULL CONSTRAINT MessagesVersion DEFAULT 0,
    EditedAt BIGINT NULL, DeletedAt BIGINT NULL,
    BlobId VARCHAR(64) COLLATE Latin1_General_100_BIN2_UTF8 NULL;
GO
UPDATE Messages SET BlobId = SUBSTRING(JSON_VALUE(AttachmentJson, '$.url'), 8, 25)
 WHERE AttachmentJson IS NOT NULL AND ISJSON(AttachmentJson) = 1
   AND JSON_VALUE(AttachmentJson, '$.url') LIKE '/blobs/blob[_]%';
CREATE INDEX MessagesChanged ON Messages(ConversationId, Version) WHERE Version > 0;
CREATE INDEX MessagesBlob ON Messages(BlobId) WHERE BlobId IS NOT NULL;
