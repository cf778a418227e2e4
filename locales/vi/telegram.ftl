## Telegram-specific strings (bot command descriptions, group replies). Owned by the Telegram adapter.

## Mô tả lệnh trong menu của Telegram (tối đa 256 ký tự, không định dạng).
tg-cmd-start = Bắt đầu hoặc tiếp tục góp ý
tg-cmd-my = Xem, sửa hoặc rút ý kiến đã gửi
tg-cmd-help = Hướng dẫn sử dụng
tg-cmd-language = Chọn ngôn ngữ (Tiếng Việt / English)
tg-cmd-privacy = Thông tin được lưu giữ và bảo vệ thế nào
tg-cmd-cancel = Hủy bước đang thực hiện
tg-cmd-delete-me = Xóa thông tin cá nhân của ông/bà

## Trả lời lệnh /start gửi trong nhóm: việc góp ý chỉ thực hiện trong trò chuyện riêng.
tg-group-start = Để bảo đảm riêng tư, việc góp ý được thực hiện trong cuộc trò chuyện riêng với bot. Mời ông/bà bấm vào đường dẫn: { $link }
tg-group-start-button = Mở trò chuyện riêng để góp ý

## Khi hệ thống gặp lỗi không xử lý được tin nhắn.
tg-error = Xin lỗi, hệ thống gặp sự cố khi xử lý tin nhắn của ông/bà. Những ý kiến đã được xác nhận trước đó vẫn được lưu giữ. Mời ông/bà thử lại sau ít phút.

## Dòng mời chọn, khi tin nhắn chỉ có các nút bấm.
tg-choose = Mời ông/bà chọn:
