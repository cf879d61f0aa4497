from django.http import HttpResponse

from .access import ADMINS, role_required


@role_required(*ADMINS)
def import_registry(request):
    return HttpResponse("TODO")
