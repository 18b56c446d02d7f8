"""Check a running platform as a person would: pages answer, the demo's endorsed proposals are in the
archive, the demo admin signs in and out."""

import http.cookiejar
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base = sys.argv[1].rstrip("/")
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def get(path: str):
    with opener.open(base + path, timeout=10) as response:
        return response.status, response.read().decode("utf-8")


def post(path: str, fields: dict):
    data = urllib.parse.urlencode(fields).encode()
    with opener.open(urllib.request.Request(base + path, data=data, method="POST"), timeout=30) as response:
        return response.status, response.geturl(), response.read().decode("utf-8")


def token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


deadline = time.monotonic() + 300
while True:
    try:
        status, _ = get("/")
        break
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        if time.monotonic() > deadline:
            sys.exit("make run did not serve / within 5 minutes")
        time.sleep(1)

assert status == 200, status
status, archive_page = get("/archive")
assert status == 200, status
status, found = get("/api/v1/proposals?sort=newest")
found = json.loads(found)
assert status == 200 and found["total"] >= 1, f"the demo's endorsed proposals are not in the archive: {found}"
status, first = get(found["items"][0]["url"])
assert status == 200 and found["items"][0]["reference"] in first, "an archived proposal's page did not open"
status, login_page = get("/login")
assert status == 200, status
status, url, page = post("/login", {"csrf_token": token(login_page), "email": "secretariat@demo.example",
                                     "password": "Saffron-Harbour-Lantern-26"})
assert status == 200 and "Sign out" in page and "Amina Secretariat" in page, "demo admin could not sign in"
status, users_page = get("/admin/users")
assert status == 200 and "researcher@demo.example" in users_page, "admin page missing demo accounts"
status, url, page = post("/logout", {"csrf_token": token(page)})
assert "Sign in" in page and "Sign out" not in page, "sign-out failed"
print(f"smoke test passed: / and /login answer 200, the archive holds {found['total']} endorsed demo proposals, "
      "the demo secretariat signed in and out")
