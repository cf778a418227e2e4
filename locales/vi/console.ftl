## Trang quản trị trên web (console) cho cán bộ. Owned by `console`.
## Văn phong hành chính; chữ thuần (không thẻ HTML): khuôn mẫu tự thoát ký tự.
## Vietnamese first; keep the English file in step.

console-app-name = gopy — Góp ý dự thảo văn kiện
console-lang-switch = English
console-skip = Chuyển đến nội dung chính

## Đăng nhập, đăng xuất, đổi mật khẩu.
console-login-title = Đăng nhập
console-login-intro = Trang dành cho cán bộ, người phê duyệt, trưởng thôn/tổ trưởng và người kiểm duyệt.
console-login-name = Tên đăng nhập
console-login-password = Mật khẩu
console-login-submit = Đăng nhập
console-login-failed = Tên đăng nhập hoặc mật khẩu không đúng.
console-login-throttled-account = Tài khoản này tạm thời bị khóa đăng nhập vì nhập sai mật khẩu nhiều lần. Quý vị vui lòng thử lại sau { $minutes } phút hoặc liên hệ quản trị viên.
console-login-throttled-address = Có quá nhiều lần đăng nhập sai từ địa chỉ mạng này. Quý vị vui lòng thử lại sau { $minutes } phút.
console-login-first-time = Lần đầu đăng nhập: dùng mật khẩu một lần do quản trị viên cấp, sau đó Quý vị sẽ đặt mật khẩu của riêng mình.
console-form-expired = Biểu mẫu đã hết hạn hoặc không hợp lệ. Quý vị vui lòng thử lại.
console-logout = Đăng xuất
console-logged-out = Quý vị đã đăng xuất.
console-password-title = Đổi mật khẩu
console-password-must-change = Mật khẩu hiện tại do quản trị viên cấp và chỉ dùng một lần. Quý vị vui lòng đặt mật khẩu mới trước khi tiếp tục.
console-password-current = Mật khẩu hiện tại
console-password-new = Mật khẩu mới (ít nhất { $min } ký tự)
console-password-confirm = Nhập lại mật khẩu mới
console-password-submit = Lưu mật khẩu mới
console-password-changed = Đã đổi mật khẩu. Các phiên đăng nhập khác của Quý vị đã được đóng.
console-password-wrong = Mật khẩu hiện tại không đúng.
console-password-too-short = Mật khẩu mới phải có ít nhất { $min } ký tự.
console-password-too-long = Mật khẩu mới quá dài (tối đa { $max } ký tự).
console-password-mismatch = Hai lần nhập mật khẩu mới không khớp nhau.
console-password-contains-name = Mật khẩu mới không được chứa tên đăng nhập.
console-password-unchanged = Mật khẩu mới phải khác mật khẩu hiện tại.
console-password-too-simple = Mật khẩu mới quá đơn giản; Quý vị vui lòng dùng nhiều ký tự khác nhau.

## Khung trang.
console-nav-home = Tổng quan
console-nav-campaigns = Đợt lấy ý kiến
console-nav-units = Địa bàn và nhóm
console-nav-broadcasts = Thông báo
console-nav-moderation = Kiểm duyệt
console-nav-opinions = Ý kiến
console-nav-staff = Cán bộ
console-nav-audit = Nhật ký
console-nav-password = Đổi mật khẩu
console-signed-in-as = Đăng nhập: { $name }
console-scope-all = toàn bộ địa bàn
console-scope = Phạm vi: { $unit }

## Vai trò.
console-role-admin = Quản trị
console-role-official = Cán bộ
console-role-approver = Lãnh đạo phê duyệt
console-role-unit_lead = Trưởng thôn / tổ trưởng
console-role-moderator = Người kiểm duyệt

## Lỗi.
console-error-title = Không thực hiện được
console-forbidden = Tài khoản của Quý vị không có quyền xem trang này hoặc thực hiện thao tác này.
console-out-of-scope = Nội dung này thuộc địa bàn ngoài phạm vi phụ trách của Quý vị.
console-not-found = Không tìm thấy nội dung yêu cầu.
console-unavailable = Hệ thống tạm thời không truy cập được cơ sở dữ liệu. Quý vị vui lòng thử lại sau ít phút; dữ liệu đã nhập chưa được lưu.
console-back-home = Về trang tổng quan

## Tổng quan.
console-home-title = Tổng quan
console-home-welcome = Xin chào { $name }.
console-home-campaigns = Các đợt lấy ý kiến
console-campaign-opinions = { $count } ý kiến
console-campaign-collect = Thu nhận ý kiến: { $from } – { $to }
console-campaign-no-collect = Chưa đặt thời gian thu nhận ý kiến
console-no-campaigns = Chưa có đợt lấy ý kiến nào.
console-show = Xem
console-phase-announce = Giai đoạn thông báo
console-phase-collect = Đang thu nhận ý kiến
console-phase-synthesise = Giai đoạn tổng hợp
console-phase-report = Giai đoạn báo cáo
console-phase-before = Chưa bắt đầu
console-phase-after = Đã kết thúc
console-phase-none = Chưa đặt lịch các giai đoạn
console-countdown = còn { $days } ngày { $hours } giờ
console-queue-size = { $count } nội dung đang chờ xử lý
console-chart-topics = Ý kiến theo nội dung
console-chart-days = Ý kiến theo ngày
console-chart-units = Ý kiến theo địa bàn
console-no-opinions = Chưa có ý kiến nào được gửi.
console-no-broadcasts = Chưa có thông báo nào.
console-broadcast-text = Nội dung
console-broadcast-state = Trạng thái
console-broadcast-progress = Tiến độ gửi
console-delivery-counts = đã gửi { $sent }, lỗi { $failed }, đang chờ { $pending }
console-bstate-draft = Bản nháp
console-bstate-submitted = Chờ phê duyệt
console-bstate-approved = Đã phê duyệt
console-bstate-scheduled = Đã lên lịch
console-bstate-sending = Đang gửi
console-bstate-sent = Đã gửi
console-bstate-partly_failed = Gửi lỗi một phần
console-bstate-cancelled = Đã hủy
console-updated = Cập nhật
console-broadcast-new = Soạn thông báo mới
console-broadcast-title = Thông báo số { $id }
console-broadcast-units = Địa bàn nhận
console-broadcast-subunits = gồm cả các địa bàn trực thuộc
console-broadcast-campaign = Thuộc đợt lấy ý kiến
console-broadcast-preview = Xem trước
console-broadcast-save = Lưu bản nháp
console-broadcast-submit = Trình phê duyệt
console-broadcast-approve = Phê duyệt
console-broadcast-cancel = Hủy thông báo
console-broadcast-schedule = Lên lịch gửi
console-broadcast-revision = Lần sửa { $revision }
console-broadcast-author = Người soạn: { $name }
console-broadcast-approver = Người phê duyệt: { $name }
console-schedule-now = Gửi ngay
console-schedule-at = Gửi vào lúc (giờ Việt Nam, năm-tháng-ngày giờ:phút)
console-schedule-windows = Chỉ gửi trong các khung giờ hằng ngày
console-chars = { $count }/{ $limit } ký tự
console-broadcast-no-units = Quý vị vui lòng nhập ít nhất một mã địa bàn nhận thông báo.
console-broadcast-unknown-unit = Có mã địa bàn không tồn tại. Quý vị vui lòng kiểm tra lại.
console-broadcast-wrong-state = Không thực hiện được việc này ở trạng thái hiện tại của thông báo.
console-broadcast-self-approval = Người soạn không được tự phê duyệt thông báo của mình; cần một lãnh đạo khác phê duyệt.
console-broadcast-not-approved = Nội dung đã thay đổi sau khi phê duyệt; cần phê duyệt lại.
console-broadcast-bad-text = Nội dung thông báo phải có từ 1 đến { $max } ký tự.
console-broadcast-changed = Thông báo vừa được người khác thay đổi; Quý vị vui lòng xem lại.
console-broadcast-bad-time = Thời gian gửi chưa đúng dạng, ví dụ: 2026-11-22 07:00.
console-broadcast-bad-windows = Khung giờ chưa đúng dạng, ví dụ: 07:00-09:00, 19:00-21:00.
