"""Settings: how each user hears about exports (any role, their own), the company and the
collection agencies (admin and finance change them; support reads them)."""
