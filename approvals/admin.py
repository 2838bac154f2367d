from django.contrib import admin

from .models import Approval, ChatIdentity, NotificationSent


@admin.register(Approval)
class ApprovalAdmin(admin.ModelAdmin):
    list_display = ("created_at", "modification", "user", "decision", "round")
    list_filter = ("decision",)
    search_fields = ("modification__patch_id", "user__username", "comment")
    raw_id_fields = ("modification", "user")

    # Decisions are made on the review page (approvals.actions), never edited here.
    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(NotificationSent)
class NotificationSentAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "channel", "ok", "detail")
    list_filter = ("channel", "ok")
    raw_id_fields = ("event",)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(ChatIdentity)
class ChatIdentityAdmin(admin.ModelAdmin):
    """Admins map chat users to accounts; a click counts only with the account's roles."""

    list_display = ("chat_user_id", "user", "created_at")
    search_fields = ("chat_user_id", "user__username")
    raw_id_fields = ("user",)

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        from .actions import do_map_chat_user

        renamed = change and "chat_user_id" in form.changed_data
        # Renamed: the old id maps to no one any more, in the same audited action.
        old = form.initial.get("chat_user_id", "") if renamed else ""
        do_map_chat_user(request.user, obj.chat_user_id, obj.user, rename_from=old)
