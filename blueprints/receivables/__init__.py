"""Who owes you what?, due dates and search."""
