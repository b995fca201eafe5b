"""The bell: unread count (polled by base.html's #bell), the list of recent notifications, and
opening one (marks it read, then the download or the Exports page)."""
