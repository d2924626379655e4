"""The local web app (``imgtrans serve``, extra ``imgtrans[web]``): ``server`` is the HTTP
layer over the Python API, ``jobs`` its sessions and job queue, ``static/`` the pages."""
