"""The user's exports: status fragments that poll until final, the list, downloads (refused once
expired), and sending a collection file to an agency."""
