-- SQLite migration 2: notifications with per-user state, blob metadata.
CREATE TABLE Notifications(
    Seq INTEGER PRIMARY KEY AUTOINCREMENT, NotificationId TEXT NOT NULL UNIQUE, TargetKind TEXT NOT NULL,
    TargetId TEXT NOT NULL DEFAULT '', Title TEXT NOT NULL, Body TEXT NOT NULL, ActionLabel TEXT, ActionUrl TEXT,
    CreatedAt INTEGER NOT NULL);
CREATE INDEX NotificationsTarget ON Notifications(TargetKind, TargetId, Seq);
CREATE TABLE NotificationReads(
    NotificationId TEXT NOT NULL, UserId TEXT NOT NULL, SeenAt INTEGER, ReadAt INTEGER, ArchivedAt INTEGER,
    PRIMARY KEY(NotificationId, UserId));
CREATE TABLE Blobs(
    BlobId TEXT PRIMARY KEY, Name TEXT NOT NULL, ContentType TEXT NOT NULL, Size INTEGER NOT NULL,
    UploaderId TEXT NOT NULL, CreatedAt INTEGER NOT NULL);
