from django.http import HttpResponse

from .access import BUREAUS, CENTRE_STAFF, PROVIDER_STAFF, role_required


@role_required(*BUREAUS)
def coverage(request):
    return HttpResponse("TODO")


@role_required(*PROVIDER_STAFF, *CENTRE_STAFF)
def contract_list(request):
    return HttpResponse("TODO")
