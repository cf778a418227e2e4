## Kiểm duyệt: thông báo cho tác giả, khiếu nại, báo cáo vi phạm. Owned by src/moderation/notice.rs.
## Viết như văn phòng phường viết cho người dân: "Quý vị". Giữ tệp tiếng Anh cùng nội dung.

## Gửi riêng cho tác giả khi người kiểm duyệt ẩn ý kiến của họ. $reference: mã ý kiến; $reason: lý do.
mod-hidden-opinion = Ý kiến <b>{ $reference }</b> của Quý vị đã được người kiểm duyệt ẩn khỏi phần tổng hợp. Lý do: { $reason }. Nội dung vẫn được lưu giữ nguyên văn và được ghi nhận là "loại ra, có lý do".

## Gửi riêng cho tác giả khi một bài viết của họ trong nhóm bị ẩn. $group: tên nhóm.
mod-hidden-post = Tin nhắn của Quý vị trong nhóm <b>{ $group }</b> đã được người kiểm duyệt ẩn. Lý do: { $reason }. Nội dung vẫn được lưu giữ trong hồ sơ của hệ thống.

## Cách khiếu nại, nối sau hai thông báo trên.
mod-appeal-how = Nếu Quý vị cho rằng quyết định này chưa đúng, Quý vị có thể khiếu nại bằng cách gửi lệnh /appeal kèm lý do. Khiếu nại sẽ do một người kiểm duyệt khác xem xét.

## Xác nhận đã nhận khiếu nại.
mod-appeal-received = Đã nhận khiếu nại của Quý vị. Một người kiểm duyệt khác sẽ xem xét lại và thông báo kết quả cho Quý vị.

## Khi không có gì để khiếu nại (không có quyết định ẩn nào, hoặc đã khiếu nại rồi).
mod-appeal-nothing = Hiện không có quyết định nào Quý vị có thể khiếu nại. Mỗi quyết định chỉ được khiếu nại một lần.

## Trả lời người báo cáo vi phạm (/report) trong nhóm. $reports: số lượt báo cáo; $threshold: số lượt cần để tạm ẩn.
mod-report-received = Cảm ơn Quý vị đã báo cáo. Bài viết đã có { $reports } / { $threshold } lượt báo cáo và sẽ được người kiểm duyệt xem xét.
mod-report-duplicate = Quý vị đã báo cáo bài viết này trước đó. Mỗi người chỉ báo cáo một bài viết một lần.
mod-report-queued = Bài viết đã đủ số lượt báo cáo và được chuyển cho người kiểm duyệt xem xét.

## Thẻ gửi người kiểm duyệt cho một mục trong hàng chờ. $id: số mục; $categories: nhóm vi phạm; $score: điểm; $text: nội dung (phần khớp được đánh dấu); $prior: số lần tác giả đã bị gắn cờ trước đây.
mod-card = <b>Mục #{ $id }</b> — { $categories } (điểm { $score })
    { $text }
    Tác giả đã bị gắn cờ trước đây: { $prior } lần.

## Thẻ của người kiểm duyệt (Telegram): nơi đăng, nguồn gắn cờ, các nút và kết quả. Owned by
## src/channels/telegram/moderation.rs.
mod-card-where = Nhóm: <b>{ $group }</b> · Người đăng: { $author }
mod-card-source-detector = Nguồn: hệ thống tự phát hiện.
mod-card-source-report = Nguồn: { $reports } người dân báo cáo.
mod-card-source-moderator = Nguồn: người kiểm duyệt <b>{ $by }</b> gắn cờ. Lý do: { $reason }
mod-card-source-reported = Nguồn: người dân báo cáo.
mod-card-appeal = <b>Khiếu nại của tác giả:</b> { $appeal }
    Người đã quyết định trước đây ({ $previous }) không xử lý lại khiếu nại này.
mod-card-no-delete = Bot không có quyền xóa tin trong nhóm này: "Ẩn" chỉ có hiệu lực trong hồ sơ gopy.
mod-card-auto-hidden = Tin đã được tạm ẩn khỏi nhóm vì đủ số lượt báo cáo, đang chờ Quý vị xem xét.
mod-card-left-visible = Tin chưa được tạm ẩn: { $why ->
        [right] bot không có quyền xóa tin trong nhóm
        [staff] người đăng là cán bộ hoặc quản trị nhóm, chỉ quản trị viên gopy được xử lý
       *[cap] số thao tác tự động gần đây đã chạm mức giới hạn, cần người xem trước
    }.
mod-card-decided = <b>Đã xử lý:</b> { $action } — bởi { $by }.
mod-action = { $action ->
        [keep] giữ lại
        [hide] ẩn
        [restrict] ẩn và hạn chế người đăng
        [ban] ẩn và cấm người đăng khỏi nhóm
        [dismiss] bỏ qua cờ
       *[undo] hoàn tác (khôi phục)
    }

mod-btn-keep = Giữ lại
mod-btn-hide = Ẩn
mod-btn-restrict = Hạn chế { $hours } giờ
mod-btn-ban = Cấm khỏi nhóm
mod-btn-dismiss = Bỏ qua
mod-btn-undo = Hoàn tác

## Kết quả trên Telegram, nối vào thẻ sau khi xử lý.
mod-done-deleted = Đã xóa tin khỏi nhóm; nội dung vẫn được lưu trong gopy.
mod-done-gone = Tin không còn trong nhóm (đã bị xóa trước đó); nội dung vẫn được lưu trong gopy.
mod-done-not-deleted = Telegram không cho xóa tin (bot thiếu quyền); tin chỉ bị ẩn trong hồ sơ gopy.
mod-done-restricted = Đã hạn chế người đăng gửi tin trong nhóm { $hours } giờ.
mod-done-banned = Đã cấm người đăng khỏi nhóm.
mod-done-refused = Telegram không cho thực hiện: bot cần là quản trị nhóm có quyền hạn chế thành viên (và nhóm phải là siêu nhóm để hạn chế).
mod-done-restored = Đã khôi phục trong gopy: mục được tính lại như bình thường.
mod-done-not-restorable = Tin đã xóa trên Telegram không thể khôi phục trong nhóm.
mod-done-unrestricted = Đã bỏ hạn chế người đăng.
mod-done-unbanned = Đã bỏ lệnh cấm; người đăng có thể vào lại nhóm.

## Trả lời khi bấm nút trên thẻ (ngắn, dưới 200 ký tự).
mod-press-done = Đã ghi nhận: { $action }.
mod-press-not-moderator = Chỉ người kiểm duyệt đã liên kết tài khoản mới xử lý được mục này.
mod-press-out-of-scope = Nhóm này không thuộc đơn vị Quý vị phụ trách.
mod-press-old-card = Thẻ này đã cũ: mục đã được khiếu nại và gửi lại bằng thẻ mới.
mod-press-already = Mục này đã được xử lý ({ $status ->
        [upheld] đã ẩn
        [dismissed] đã giữ lại
       *[queued] đang chờ
    }) bởi { $by }.
mod-press-nothing-to-undo = Không còn gì để hoàn tác: mục này không ở trạng thái bị ẩn.
mod-press-staff = Người đăng là cán bộ hoặc quản trị nhóm: chỉ quản trị viên gopy được ẩn, hạn chế hoặc cấm.
mod-press-same-moderator = Mục này được khiếu nại về quyết định của Quý vị: một người kiểm duyệt khác sẽ xem xét.

## Lệnh trong nhóm: /report và /flag.
mod-report-usage = Để báo cáo, Quý vị hãy trả lời (reply) đúng tin nhắn cần báo cáo bằng lệnh /report, có thể kèm lý do.
mod-flag-usage = Để gắn cờ, hãy trả lời (reply) tin nhắn cần xem xét bằng lệnh /flag kèm lý do.
mod-flag-not-moderator = Chỉ người kiểm duyệt đã liên kết tài khoản (phụ trách đơn vị của nhóm) mới dùng được /flag.
mod-flag-queued = Đã đưa tin vào hàng chờ kiểm duyệt (mục #{ $id }).
mod-flag-already = Tin này đã có trong hàng chờ kiểm duyệt (mục #{ $id }).

## Lý do ẩn khi không có nhóm vi phạm nào do hệ thống phát hiện.
mod-reason-reports = nhiều người dân báo cáo vi phạm
mod-reason-default = vi phạm quy định của nhóm

## Dòng đầu thẻ của một ý kiến bị gắn cờ. $reference: mã ý kiến.
mod-card-opinion = Ý kiến góp ý mã <b>{ $reference }</b>.

## Lý do người dân nêu khi báo cáo tin. $reasons: các lý do, cách nhau bằng dấu chấm phẩy.
mod-card-report-reasons = Lý do báo cáo: { $reasons }

## Kết quả khiếu nại và khôi phục, gửi riêng cho tác giả. $group: tên nhóm; $reference: mã ý kiến.
mod-appeal-kept-post = Khiếu nại của Quý vị về tin nhắn trong nhóm <b>{ $group }</b> đã được một người kiểm duyệt khác xem xét: quyết định ẩn được giữ nguyên. Lý do: { $reason }.
mod-appeal-kept-opinion = Khiếu nại của Quý vị về ý kiến <b>{ $reference }</b> đã được một người kiểm duyệt khác xem xét: quyết định ẩn được giữ nguyên. Lý do: { $reason }.
mod-restored-post = Quyết định ẩn tin nhắn của Quý vị trong nhóm <b>{ $group }</b> đã được hủy. Tin đã bị xóa khỏi nhóm thì không hiện lại được; Quý vị có thể đăng lại.
mod-restored-opinion = Ý kiến <b>{ $reference }</b> của Quý vị đã được khôi phục và được tính trong phần tổng hợp như bình thường.

## Gửi riêng cho tác giả khi tin của họ bị tạm ẩn vì đủ số lượt báo cáo.
mod-pending-post = Tin nhắn của Quý vị trong nhóm <b>{ $group }</b> đã được tạm ẩn vì nhiều người báo cáo. Người kiểm duyệt sẽ xem xét và thông báo kết quả cho Quý vị; nội dung vẫn được lưu trong hồ sơ của hệ thống.
