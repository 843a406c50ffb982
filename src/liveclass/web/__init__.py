"""The browser side: the classroom, the landing and create pages, and their static files."""
