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

## Trả lời trong nhóm thành ý kiến (replies): chuỗi bài đăng của một đợt, thông báo riêng lần đầu,
## lựa chọn của người dân và lời ghi nhận ngắn trong nhóm.
gr-thread-campaign = 📢 <b>{ $issuer }</b> lấy ý kiến Nhân dân: <b>{ $title }</b>
    { $intro }
gr-thread-consent = Quý vị có thể góp ý ngay trong nhóm này: hãy <b>trả lời (reply)</b> tin nhắn của chủ đề Quý vị quan tâm ở bên dưới. Mỗi tin trả lời được ghi nhận là một ý kiến góp ý và được tổng hợp <b>ẩn danh</b> (báo cáo không ghi tên người góp ý). Một biểu tượng cảm xúc, nhãn dán hoặc “đồng ý”, “+1” được tính là ý kiến đồng tình. Trả lời tin nhắn này là góp ý chung, cán bộ sẽ phân loại.
gr-thread-link = Để góp ý riêng tư và đầy đủ hơn, Quý vị bấm: { $link }
gr-thread-topic = 🗂 <b>Chủ đề: { $title }</b>
gr-thread-section = <i>{ $reference }. { $title }</i>: { $summary }
gr-thread-question = ❓ { $question }
gr-thread-reply-here = ↩️ Quý vị trả lời (reply) tin nhắn này để góp ý về chủ đề trên.
gr-thread-topic-gone = Chủ đề { $code } không còn trong đợt lấy ý kiến.
gr-notice = Cảm ơn Quý vị đã góp ý trong nhóm <b>{ $group }</b> về “{ $campaign }”. Ý kiến trả lời của Quý vị đã được ghi nhận và sẽ được tổng hợp ẩn danh. Quý vị có thể chọn:
    • <b>Giữ ý kiến</b> như đã gửi;
    • <b>Ẩn danh hoàn toàn</b>: gỡ mọi liên kết giữa ý kiến và tài khoản Telegram của Quý vị;
    • <b>Rút lại</b>: ý kiến được lưu nhưng không tính vào tổng hợp.
gr-notice-link = Để góp ý đầy đủ hơn trong trò chuyện riêng, Quý vị bấm: { $link }
gr-choice-keep = Giữ ý kiến
gr-choice-anonymous = Ẩn danh hoàn toàn
gr-choice-withdraw = Rút lại
gr-chosen-keep = Ý kiến của Quý vị được giữ nguyên và tổng hợp ẩn danh. Xin cảm ơn Quý vị.
gr-chosen-anonymous = Đã gỡ liên kết giữa các ý kiến trả lời trong nhóm và tài khoản của Quý vị. Từ nay, ý kiến trả lời của Quý vị trong đợt này được lưu ẩn danh hoàn toàn.
gr-chosen-withdraw = Đã rút lại { $count } ý kiến trả lời của Quý vị; các ý kiến này không được tính vào tổng hợp.
gr-ack = Đã ghi nhận ý kiến của Quý vị. Xin cảm ơn!
gr-file-too-large = Tệp của Quý vị lớn hơn { $mb } MB nên chưa được ghi nhận. Quý vị vui lòng gửi tệp nhỏ hơn hoặc viết ý kiến bằng chữ.
gr-file-type = Loại tệp này chưa được tiếp nhận. Quý vị vui lòng gửi tin nhắn thoại, ảnh (JPEG) hoặc tệp PDF, hoặc viết ý kiến bằng chữ.
dm-file-kept = Đã nhận tệp của Quý vị (tin nhắn thoại, ảnh hoặc tài liệu) và lưu kèm ý kiến về chủ đề này. Tệp chỉ được cán bộ có thẩm quyền nghe, xem và ghi lại nội dung; Quý vị có thể viết thêm ý kiến bằng chữ.
dm-file-not-received = Xin lỗi Quý vị, hệ thống chưa tải được tệp vừa gửi nên chưa ghi nhận. Quý vị vui lòng gửi lại sau ít phút hoặc viết ý kiến bằng chữ.

## Báo cáo theo lịch (reports): gửi riêng cho cán bộ đã đăng ký nhận.
rp-report = 📊 <b>Báo cáo tổng hợp ý kiến theo lịch</b> ngày { $day }
    { $title } — phạm vi: { $scope }
    Ý kiến được tính: <b>{ $opinions }</b>; người góp ý: { $participants }; ý kiến bị loại: { $excluded }; ý kiến đồng tình trả lời trong nhóm: { $agreements }.
    Toàn văn báo cáo trong tệp gửi kèm.
rp-report-file = Toàn văn báo cáo tổng hợp (tệp văn bản).
rp-unit-report = 📄 <b>Kết quả tổng hợp ý kiến của { $unit }</b>
    { $title }
    Ý kiến được tổng hợp: <b>{ $opinions }</b>. Báo cáo của đơn vị trong tệp gửi kèm.
rp-unit-report-file = Báo cáo tổng hợp ý kiến của { $unit }.
rp-digest = 🗓 <b>Bản tin lấy ý kiến hằng ngày</b>: { $title }
    Phạm vi: { $scope }
    Người dân đã góp ý: <b>{ $participants }</b> người, { $opinions } ý kiến được tính.
    Chủ đề còn ít ý kiến: { $thin }.
    Nhóm chưa nhận bài đăng, thông báo của đợt: { $unreached }.
