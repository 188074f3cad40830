def console(request):
    return {
        "actor": getattr(request, "actor", None),
        "membership": getattr(request, "membership", None),
    }
