"""人员: the staff users (admins only; ``bridge.users`` refuses anyone else, and a salesperson
gets the 403 page). The list with each user's role, contact, bound WeChat, state and last sign-in;
adding a user; and on a user's page: change of role, password reset, unbinding their WeChat,
ending their sessions, deactivating and activating. Every rule (the password policy, the last
active admin, ending sessions, the audit rows) is ``bridge.users``'s, as for ``jht-bridge users``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, PathParameter
from litestar.response import Redirect, Template

from bridge import notify, users
from bridge.errors import DomainError
from bridge.labels import CHANNEL_LABELS, STAFF_ROLE_LABELS
from webapi.admin.common import Admin, field_errors, is_htmx, page, reading, writing

NOTICES = {
    "added": "已添加员工账号",
    "role": "角色已更改",
    "role-same": "角色未变",
    "password": "密码已重置，该员工需用新密码重新登录",
    "wechat": "已解绑微信，该员工的登录已全部结束",
    "wechat-none": "该员工没有绑定微信",
    "revoked": "该员工的登录已全部结束",
    "deactivated": "已停用，该员工的登录已全部结束",
    "activated": "已启用，该员工可用原密码登录",
    "unchanged": "状态未变",
    "notify": "通知设置已保存",
}
"""What a page says after a change (``?done=…`` of the redirect): fixed texts, never echoed input."""


Username = Annotated[str, PathParameter(min_length=1, max_length=64)]
"""A staff user's login name in a path (``bridge.users`` finds them or answers NotFound)."""

ROLES = [(role.value, label) for role, label in STAFF_ROLE_LABELS.items()]
"""The role choices of the forms: (code, label)."""


@dataclass
class NewUserForm:
    username: str = ""
    display_name: str = ""
    role: str = "sales"
    phone: str = ""
    wechat_id: str = ""
    password: str = ""


@dataclass
class RoleForm:
    role: str = ""


@dataclass
class PasswordForm:
    password: str = ""


@dataclass
class NotifyForm:
    email: str = ""
    wecom_userid: str = ""
    channels: list[str] | str | None = None
    """One value for one ticked box, a list for several."""
    all_channels: str = ""


NewUser = Annotated[NewUserForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
Notify = Annotated[NotifyForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
Role = Annotated[RoleForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
Password = Annotated[PasswordForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


def _message(what: str, customers: int = 0) -> str | None:
    message = NOTICES.get(what)
    if message and customers:
        message += f"；仍有 {customers} 位客户由其负责，请为他们另行分配业务员"
    return message


def _notice(request: Request) -> str | None:
    customers = request.query_params.get("customers", "")
    return _message(request.query_params.get("done", ""), int(customers) if customers.isdigit() else 0)


def _list(request: Request, admin: Admin, *, form: NewUserForm | None = None, errors=None, status: int = 200):
    with reading(request) as session:
        rows = users.list_users(session, admin.actor)
    return page(
        "staff/list.html",
        admin,
        nav="staff",
        status_code=status,
        rows=rows,
        roles=ROLES,
        form=form or NewUserForm(),
        errors=errors or {},
        flash=None if errors else _notice(request),
    )


def _detail(request: Request, admin: Admin, username: str, *, errors=None, status: int = 200) -> Template:
    with reading(request) as session:
        row = users.user_listing(session, admin.actor, username)
    return page(
        "staff/detail.html",
        admin,
        nav="staff",
        status_code=status,
        row=row,
        roles=ROLES,
        channels=[(name, CHANNEL_LABELS[name]) for name in notify.CHANNEL_NAMES],
        errors=errors or {},
        flash=None if errors else _notice(request),
    )


def _done(username: str, what: str, **extra: int) -> Redirect:
    more = "".join(f"&{key}={value}" for key, value in extra.items())
    return Redirect(f"/admin/staff/{quote(username, safe='')}?done={what}{more}", status_code=303)


@get("/staff", sync_to_thread=True)
def staff_list(request: Request, admin: Admin) -> Template:
    """Every staff user, and the form to add one."""
    return _list(request, admin)


@post("/staff", sync_to_thread=True, status_code=303)
def add_staff(request: Request, admin: Admin, data: NewUser) -> Template | Redirect:
    """Add a staff user; a refused field is shown at the field (422)."""
    try:
        with writing(request) as session:
            users.add_user(
                session,
                admin.actor,
                username=data.username,
                password=data.password,
                role=data.role,
                display_name=data.display_name,
                phone=data.phone,
                wechat_id=data.wechat_id,
            )
    except DomainError as exc:
        data.password = ""  # never sent back into the page
        return _list(request, admin, form=data, errors=field_errors(exc), status=422)
    return Redirect("/admin/staff?done=added", status_code=303)


@get("/staff/{username:str}", sync_to_thread=True)
def staff_detail(request: Request, admin: Admin, username: Username) -> Template:
    """One staff user and what an admin may change about them."""
    return _detail(request, admin, username)


@post("/staff/{username:str}/role", sync_to_thread=True, status_code=303)
def change_role(request: Request, admin: Admin, username: Username, data: Role) -> Template | Redirect:
    try:
        with writing(request) as session:
            changed = users.set_role(session, admin.actor, username, data.role)
    except DomainError as exc:
        return _detail(request, admin, username, errors={"role": exc.message}, status=exc.status)
    return _done(username, "role" if changed else "role-same")


@post("/staff/{username:str}/password", sync_to_thread=True, status_code=303)
def reset_password(request: Request, admin: Admin, username: Username, data: Password) -> Template | Redirect:
    try:
        with reading(request) as session:
            user = users.get_user(session, username)
        # Checked and hashed before the write transaction (users.NewPassword).
        password = users.new_password(data.password, user.username, user.display_name)
        with writing(request) as session:
            users.reset_password(session, admin.actor, username, password)
    except DomainError as exc:
        return _detail(request, admin, username, errors=field_errors(exc), status=exc.status)
    return _done(username, "password")


@post("/staff/{username:str}/notify", sync_to_thread=True, status_code=303)
def notify_settings(request: Request, admin: Admin, username: Username, data: Notify) -> Template | Redirect:
    """Where notices reach the user and through which channels (``bridge.notify.set_contacts``)."""
    try:
        with writing(request) as session:
            notify.set_contacts(
                session,
                admin.actor,
                users.get_user(session, username),
                email=data.email,
                wecom_userid=data.wecom_userid,
                channels=[c for c in ([data.channels] if isinstance(data.channels, str) else data.channels or []) if c],
                all_channels=bool(data.all_channels),
            )
    except DomainError as exc:
        return _detail(request, admin, username, errors=field_errors(exc), status=exc.status)
    return _done(username, "notify")


@post("/staff/{username:str}/unbind-wechat", sync_to_thread=True, status_code=303)
def unbind_wechat(request: Request, admin: Admin, username: Username) -> Redirect:
    with writing(request) as session:
        ended = users.unbind_wechat(session, admin.actor, username)
    return _done(username, "wechat-none" if ended is None else "wechat")


@post("/staff/{username:str}/revoke", sync_to_thread=True, status_code=303)
def revoke(request: Request, admin: Admin, username: Username) -> Redirect:
    with writing(request) as session:
        users.revoke_sessions(session, admin.actor, username)
    return _done(username, "revoked")


@post("/staff/{username:str}/deactivate", sync_to_thread=True, status_code=303)
def deactivate(request: Request, admin: Admin, username: Username) -> Template | Redirect:
    """Deactivate (every session of theirs ends). From the list (htmx) the row is swapped."""
    try:
        with writing(request) as session:
            result = users.deactivate_user(session, admin.actor, username)
            customers = result.customers
    except DomainError as exc:
        if is_htmx(request):
            raise  # an alert in #flash (common.admin_error)
        return _detail(request, admin, username, errors={"state": exc.message}, status=exc.status)
    return _changed(request, admin, username, "deactivated" if result.changed else "unchanged", customers=customers)


@post("/staff/{username:str}/activate", sync_to_thread=True, status_code=303)
def activate(request: Request, admin: Admin, username: Username) -> Template | Redirect:
    with writing(request) as session:
        changed = users.activate_user(session, admin.actor, username)
    return _changed(request, admin, username, "activated" if changed else "unchanged")


def _changed(request: Request, admin: Admin, username: str, what: str, customers: int = 0) -> Template | Redirect:
    if not is_htmx(request):
        return _done(username, what, customers=customers)
    with reading(request) as session:
        row = users.user_listing(session, admin.actor, username)
    context = {"admin": admin, "row": row, "flash": _message(what, customers), "oob": True}
    return Template("staff/_row.html", context=context)


PAGES = [
    staff_list,
    add_staff,
    staff_detail,
    change_role,
    reset_password,
    notify_settings,
    unbind_wechat,
    revoke,
    deactivate,
    activate,
]
