## Lời đáp các lệnh của cán bộ trong Telegram (/link, /bind, /unbind). Owned by `announce`.
## Written in the administrative register ("Quý vị"). Vietnamese first; keep the English file in step.

## /link MÃ trong trò chuyện riêng: liên kết tài khoản Telegram với tài khoản cán bộ.
announce-link-done = Đã liên kết tài khoản Telegram này với tài khoản cán bộ <b>{ $name }</b>. Từ nay Quý vị có thể dùng các lệnh dành cho cán bộ.
announce-link-unknown = Mã liên kết không đúng hoặc đã được sử dụng. Quý vị vui lòng kiểm tra lại mã hoặc đề nghị quản trị viên cấp mã mới.
announce-link-expired = Mã liên kết đã hết hạn. Quý vị vui lòng đề nghị quản trị viên cấp mã mới.
announce-link-usage = Quý vị vui lòng gửi lệnh kèm mã liên kết do quản trị viên cấp, ví dụ: /link K7QX3MZP

## /bind MÃ_ĐỊA_BÀN và /unbind trong nhóm.
announce-bind-done = Đã gắn nhóm này với <b>{ $unit }</b> ({ $code }). Các thông báo của địa bàn sẽ được gửi vào nhóm.
announce-unbind-done = Đã bỏ gắn nhóm này khỏi địa bàn. Nhóm sẽ không nhận thông báo cho đến khi được gắn lại.
announce-bind-usage = Quý vị vui lòng gửi lệnh kèm mã địa bàn, ví dụ: /bind TDP-1
announce-not-staff = Xin lỗi, lệnh này chỉ dành cho cán bộ đã liên kết tài khoản với hệ thống.
announce-refused-role = Xin lỗi, tài khoản của Quý vị không có quyền gắn nhóm với địa bàn.
announce-refused-scope = Xin lỗi, địa bàn này nằm ngoài phạm vi phụ trách của Quý vị.
announce-unknown-unit = Không có địa bàn mang mã { $code }. Quý vị vui lòng kiểm tra lại mã.
announce-unknown-group = Hệ thống chưa ghi nhận nhóm này. Quý vị vui lòng xóa bot khỏi nhóm rồi thêm lại.
reminder-groups = Còn { $days ->
        [0] { $hours } giờ
       *[other] { $days } ngày
    } nữa là hết hạn góp ý «{ $title }» (hạn cuối { $closes }). Bà con chưa góp ý xin gõ /start trong nhóm này để được hướng dẫn góp ý qua tin nhắn riêng với bot.
reminder-residents = Quý vị đã bắt đầu góp ý «{ $title }» nhưng chưa gửi ý kiến. Còn { $days ->
        [0] { $hours } giờ
       *[other] { $days } ngày
    } nữa là hết hạn (hạn cuối { $closes }). Quý vị gõ /start để tiếp tục; gõ /notices off nếu không muốn nhận tin nhắc.

## Đăng hộ: nhóm do người dân tự lập (bot không vào được). Hệ thống gửi bài cho người phụ trách nhóm qua tin nhắn riêng; người phụ trách đăng rồi xác nhận.
assisted-intro = Nhóm «{ $group }» do người dân tự lập nên hệ thống không tự đăng được. Đề nghị Quý vị sao chép nguyên văn tin nhắn ngay sau đây và đăng vào nhóm «{ $group }».
assisted-reminder-intro = Nhắc lại: thông báo dưới đây chưa được xác nhận là đã đăng vào nhóm «{ $group }». Đề nghị Quý vị đăng nguyên văn tin nhắn ngay sau đây vào nhóm, rồi xác nhận.
assisted-confirm-button-hint = Sau khi đăng xong, Quý vị bấm nút «Đã đăng» dưới đây để hệ thống ghi nhận (thông báo số { $number }).
assisted-confirm-text-hint = Sau khi đăng xong, Quý vị trả lời tin nhắn này bằng: ĐÃ ĐĂNG { $number }
assisted-button-posted = ✅ Đã đăng
assisted-confirmed = Đã ghi nhận: thông báo đã được đăng vào nhóm «{ $group }». Xin cảm ơn Quý vị!
assisted-already = Thông báo này đã được ghi nhận là đã đăng vào nhóm «{ $group }» trước đó.
assisted-unknown = Không tìm thấy thông báo số { $number } đang chờ xác nhận. Quý vị vui lòng kiểm tra lại số thông báo.
assisted-not-yours = Thông báo này thuộc nhóm do cán bộ khác phụ trách nên Quý vị không thể xác nhận thay.

## /link MÃ gửi bot Zalo.
zalo-link-done = Đã liên kết tài khoản Zalo này với tài khoản cán bộ { $name }. Từ nay Quý vị có thể dùng các lệnh dành cho cán bộ và nhận các thông báo cần đăng hộ vào nhóm.

## Trình và phê duyệt thông báo ngay trong Telegram.
approval-submit-usage = Để trình thông báo: gửi nội dung thông báo cho bot, rồi trả lời (reply) chính tin nhắn đó bằng lệnh /trinh kèm mã địa bàn, ví dụ: /trinh TDP-1
approval-submitted = Đã trình thông báo số { $id } ({ $chars } ký tự) tới cán bộ phê duyệt. Quý vị sẽ được báo khi thông báo được phê duyệt.
approval-refused = Không thực hiện được: { $reason }
approval-request = 📣 <b>Thông báo số { $id } chờ phê duyệt</b>
    Người soạn: { $author }. Nơi nhận: { $audience }.
    
    { $text }
approval-button-approve = ✅ Phê duyệt
approval-approved = Đã phê duyệt thông báo số { $id }. Người soạn được báo để gửi.
approval-approved-author = Thông báo số { $id } đã được { $approver } phê duyệt. Bấm «Gửi ngay» để gửi, hoặc lên lịch gửi trên trang quản trị.
approval-button-send = 📣 Gửi ngay
approval-scheduled = Thông báo số { $id } đã được lên lịch gửi ngay tới { $targets } nơi nhận.
approval-stale = Thông báo số { $id } đã được sửa hoặc đã được xử lý; bản Quý vị nhận không còn chờ phê duyệt.
