"""Settings → Reminder templates: the list of templates (level × channel × language) and the editor
with its live preview on a real customer. Admin and finance save and reset; support reads and
previews."""
