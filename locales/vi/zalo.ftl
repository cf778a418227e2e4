## Zalo-specific strings. Owned by the Zalo adapter.
## Written as the ward office writes to residents: "Quý vị". Vietnamese first; keep the English file in step.

## Zalo yêu cầu bot cho người dùng biết họ đang trò chuyện với phần mềm tự động.
zalo-bot-disclosure = Quý vị đang trò chuyện với phần mềm trả lời tự động (bot) của hệ thống lấy ý kiến; không có cán bộ đọc tin nhắn trong cuộc trò chuyện này.

## Zalo không chuyển nội dung tin nhắn (tài khoản được bảo vệ): trả lời lịch sự, không lưu gì.
zalo-unsupported = Xin lỗi Quý vị, hệ thống không nhận được nội dung tin nhắn này nên chưa thể ghi nhận. Quý vị vui lòng liên hệ trực tiếp cán bộ tổ dân phố, thôn hoặc Ủy ban nhân dân phường, xã để góp ý. Xin cảm ơn!

## Khi hệ thống gặp lỗi, không xử lý được tin nhắn.
zalo-error = Xin lỗi Quý vị, hệ thống gặp sự cố khi xử lý tin nhắn vừa rồi. Các ý kiến đã được xác nhận trước đó vẫn được lưu giữ. Quý vị vui lòng thử lại sau ít phút.

## Trả lời trong nhóm Zalo (issue 9): dòng cuối của bài đăng chiến dịch, thay cho đường dẫn của Telegram.
zalo-gr-thread-private = Để góp ý riêng tư và đầy đủ hơn, Quý vị nhắn tin riêng cho bot này và gõ: /start { $slug }
## Thông báo riêng lần đầu ý kiến trả lời trong nhóm được ghi nhận (Zalo không có nút bấm: gõ từ lựa chọn).
zalo-gr-notice = Cảm ơn Quý vị đã góp ý trong nhóm { $group } về “{ $campaign }”. Ý kiến trả lời của Quý vị đã được ghi nhận và sẽ được tổng hợp ẩn danh. Quý vị có thể trả lời tin nhắn này bằng một trong các từ sau:
    • GIỮ: giữ ý kiến như đã gửi;
    • ẨN DANH: gỡ mọi liên kết giữa ý kiến và tài khoản Zalo của Quý vị;
    • RÚT: rút lại, ý kiến được lưu nhưng không tính vào tổng hợp.
zalo-gr-notice-link = Để góp ý đầy đủ hơn, Quý vị gõ: /start { $slug }
