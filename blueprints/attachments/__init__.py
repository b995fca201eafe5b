"""Invoice PDFs: attach one to an entry from its row, upload a .zip of them, download one."""
