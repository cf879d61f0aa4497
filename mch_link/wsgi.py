"""WSGI entry point: gunicorn mch_link.wsgi."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mch_link.settings")
application = get_wsgi_application()
