from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """Pages of 24 by default; ``page_size`` from 1 to 100, and anything else is a 400 (not silently clamped).

    The bounds are stated in the schema (``schema.py``), so what the schema promises is what happens.
    """

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        text = values[-1].strip()
        if len(values) > 1 or not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"Give one whole number from 1 to {self.max_page_size}."]}
            )
        return int(text)
