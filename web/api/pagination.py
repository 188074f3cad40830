from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """Lists answer {count, next, previous, results} (SPEC §10)."""

    page_size_query_param = "page_size"
    max_page_size = 500
