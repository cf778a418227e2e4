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
