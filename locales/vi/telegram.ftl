## Telegram-specific strings (bot command descriptions, group replies). Owned by the Telegram adapter.
## Written as the ward office writes to residents: "Quý vị". Vietnamese first; keep the English file in step.

## Mô tả lệnh trong menu của Telegram (tối đa 256 ký tự, không định dạng), cùng lời với /help.
tg-cmd-start = Bắt đầu hoặc tiếp tục góp ý
tg-cmd-my = Xem, sửa, rút ý kiến của Quý vị
tg-cmd-help = Xem hướng dẫn sử dụng
tg-cmd-language = Đổi ngôn ngữ (Tiếng Việt / English)
tg-cmd-privacy = Thông báo về xử lý dữ liệu cá nhân
tg-cmd-cancel = Thoát bước đang làm
tg-cmd-delete-me = Xóa dữ liệu của Quý vị
tg-cmd-notices = Bật/tắt nhận thông báo (on / off)
tg-cmd-link-account = Liên kết tài khoản Zalo và Telegram
tg-cmd-appeal = Đề nghị xem xét lại bài viết, ý kiến bị ẩn

## Trả lời lệnh /start gửi trong nhóm: việc góp ý chỉ thực hiện trong trò chuyện riêng với bot.
tg-group-start = Để bảo đảm bí mật ý kiến, việc góp ý được thực hiện trong cuộc trò chuyện riêng với bot. Quý vị vui lòng bấm vào đường dẫn sau để bắt đầu: { $link }
tg-group-start-button = Mở trò chuyện riêng để góp ý

## Khi hệ thống gặp lỗi, không xử lý được tin nhắn.
tg-error = Xin lỗi Quý vị, hệ thống gặp sự cố khi xử lý tin nhắn vừa rồi. Các ý kiến đã được xác nhận trước đó vẫn được lưu giữ. Quý vị vui lòng thử lại sau ít phút.

## Dòng mời chọn, khi tin nhắn chỉ có các nút bấm.
tg-choose = Quý vị vui lòng chọn:
