## Zalo-specific strings. Owned by the Zalo adapter.
## Written as the ward office writes to residents: "Quý vị". Vietnamese first; keep the English file in step.

## Zalo yêu cầu bot cho người dùng biết họ đang trò chuyện với phần mềm tự động.
zalo-bot-disclosure = Quý vị đang trò chuyện với phần mềm trả lời tự động (bot) của hệ thống lấy ý kiến; không có cán bộ đọc tin nhắn trong cuộc trò chuyện này.

## Zalo không chuyển nội dung tin nhắn (tài khoản được bảo vệ): trả lời lịch sự, không lưu gì.
zalo-unsupported = Xin lỗi Quý vị, hệ thống không nhận được nội dung tin nhắn này nên chưa thể ghi nhận. Quý vị vui lòng liên hệ trực tiếp cán bộ tổ dân phố, thôn hoặc Ủy ban nhân dân phường, xã để góp ý. Xin cảm ơn!

## Khi hệ thống gặp lỗi, không xử lý được tin nhắn.
zalo-error = Xin lỗi Quý vị, hệ thống gặp sự cố khi xử lý tin nhắn vừa rồi. Các ý kiến đã được xác nhận trước đó vẫn được lưu giữ. Quý vị vui lòng thử lại sau ít phút.
