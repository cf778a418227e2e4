## The feedback dialog, in Vietnamese (the first language of every string).
## Written as the ward office (Văn phòng Đảng ủy, UBND phường) writes to residents: "Quý vị".
## Only <b> and <i> tags; arguments are escaped by the renderer.

## Before the dialog

no-campaign = Hiện chưa có đợt lấy ý kiến nào đang diễn ra. Khi có đợt lấy ý kiến mới, phường sẽ thông báo tại nhóm của tổ dân phố, thôn. Xin cảm ơn Quý vị!
phase-not-open =
    <b>{ $title }</b>
    Đợt lấy ý kiến sẽ bắt đầu lúc <b>{ $opens }</b>. Kính mời Quý vị quay lại vào thời gian đó và gõ /start để góp ý.
phase-closed =
    <b>{ $title }</b>
    Đợt lấy ý kiến đã kết thúc lúc { $closed }, hệ thống không nhận thêm ý kiến. Quý vị vẫn có thể xem các ý kiến của mình bằng lệnh /my. Xin cảm ơn Quý vị đã quan tâm!
idle-prompt =
    <b>{ $title }</b>
    Kính mời Quý vị tham gia góp ý. Vui lòng chọn “Bắt đầu góp ý” hoặc gõ /start.
choice-my = 📋 Xem ý kiến của tôi
choice-start = Bắt đầu góp ý

## Notice and consent

consent-welcome =
    <b>{ $title }</b>
    { $intro }
consent-notice =
    <b>Thông báo về xử lý dữ liệu cá nhân</b>
    • Đơn vị thu thập: { $issuer }.
    • Nội dung thu thập: ý kiến của Quý vị về { $document }.
    • Mục đích: { $purpose }
    • Ý kiến về văn kiện chính trị là dữ liệu cá nhân nhạy cảm theo Nghị định 13/2023/NĐ-CP, chỉ được xử lý khi Quý vị đồng ý.
    • Nếu Quý vị góp ý có tên, tên hiển thị được lưu riêng với nội dung ý kiến và được xóa sau { $months } tháng kể từ khi kết thúc lấy ý kiến. Nếu góp ý ẩn danh, tên của Quý vị không được lưu.
    • Quyền của Quý vị: xem, sửa, rút ý kiến (/my); xóa dữ liệu của mình (/delete_me); đọc đầy đủ thông báo (/privacy).
consent-question = Quý vị có đồng ý tham gia góp ý theo thông báo trên không?
choice-named = Đồng ý, góp ý có tên
choice-anonymous = Đồng ý, góp ý ẩn danh
choice-leave = Không tham gia
consent-thanks-named = Cảm ơn Quý vị đã đồng ý. Ý kiến của Quý vị được ghi nhận kèm tên hiển thị.
consent-thanks-anonymous = Cảm ơn Quý vị đã đồng ý. Ý kiến của Quý vị được ghi nhận ẩn danh.
consent-left = Quý vị đã chọn không tham gia; không có ý kiến nào được lưu. Khi muốn góp ý, Quý vị gõ /start. Xin cảm ơn!

## Unit and target group

unit-prompt = Quý vị đang sinh sống hoặc làm việc tại tổ dân phố, thôn nào của { $name }?
unit-choice = { $name }
unit-choice-root = Nơi khác thuộc { $name }
unit-chosen = Đã ghi nhận địa bàn: <b>{ $name }</b>.
target-group-prompt = Quý vị thuộc đối tượng nào dưới đây? Thông tin này giúp tổng hợp ý kiến theo từng nhóm; Quý vị có thể bỏ qua câu hỏi này.
choice-skip-target-group = Bỏ qua câu hỏi này
target-group-farmer = Nông dân
target-group-worker = Công nhân, người lao động
target-group-woman = Phụ nữ
target-group-veteran = Cựu chiến binh
target-group-youth = Đoàn viên, thanh niên
target-group-intellectual = Trí thức
target-group-business = Doanh nhân, hộ kinh doanh
target-group-ethnic-minority = Đồng bào dân tộc thiểu số
target-group-religious = Chức sắc, tín đồ tôn giáo
target-group-party-member = Đảng viên
target-group-other = Đối tượng khác

## The topic menu

menu-header =
    <b>Các nội dung xin ý kiến</b>
    Quý vị đã góp ý { $given }/{ $total } nội dung. Vui lòng chọn một nội dung để xem và góp ý; khi xong, chọn “Xem lại và gửi ý kiến”.
menu-legend = ✅ đã góp ý · ⏭ đã bỏ qua · ▫️ chưa xem
menu-topic-given = ✅ { $title } ({ $count })
menu-topic-skipped = ⏭ { $title }
menu-topic-new = ▫️ { $title }
choice-review = 📝 Xem lại và gửi ý kiến
menu-all-visited = Quý vị đã xem hết các nội dung. Vui lòng chọn “Xem lại và gửi ý kiến” để gửi, hoặc chọn một nội dung để góp ý thêm.
menu-last-receipt = Mã biên nhận lần gửi gần nhất của Quý vị: <b>{ $receipt }</b>.

## One topic

topic-header = <b>Nội dung { $index }/{ $total }: { $title }</b>
topic-section =
    <b>Mục { $reference }. { $title }</b>
    { $summary }
topic-question = ❓ <i>{ $question }</i>
topic-prompt = Quý vị vui lòng nhập ý kiến và gửi như một tin nhắn thông thường. Có thể gửi nhiều tin nhắn, mỗi tin nhắn là một ý kiến (tối đa { $max } ký tự).
topic-prompt-more = Quý vị đã góp { $count } ý kiến cho nội dung này. Quý vị có thể gửi thêm, hoặc chọn bên dưới.
topic-missing = Nội dung này không còn trong đợt lấy ý kiến. Quý vị vui lòng quay về danh sách nội dung.
choice-next-topic = Nội dung tiếp theo ➡️
choice-menu = Về danh sách nội dung
choice-skip = Bỏ qua nội dung này
opinion-saved =
    ✅ Đã ghi nhận ý kiến thứ { $count } của Quý vị cho nội dung này (mã <b>{ $reference }</b>):
    <i>{ $preview }</i>
    Quý vị có thể gửi thêm ý kiến, hoặc chọn bên dưới.

## Review and receipt

review-empty = Quý vị chưa có ý kiến nào chờ gửi. Vui lòng chọn một nội dung để góp ý.
review-header =
    <b>Xem lại trước khi gửi</b>
    Quý vị có { $count } ý kiến chưa gửi:
review-topic =
    <b>{ $title }</b> ({ $count } ý kiến)
    { $items }
review-more = … và { $count } ý kiến khác (xem đầy đủ bằng lệnh /my).
review-footer = Sau khi gửi, Quý vị vẫn có thể sửa hoặc rút ý kiến bằng lệnh /my đến { $closes }.
choice-submit = ✅ Gửi ý kiến
receipt =
    <b>Cảm ơn Quý vị đã góp ý!</b>
    Đã gửi { $count } ý kiến. Mã biên nhận: <b>{ $receipt }</b>
    Quý vị có thể xem, sửa hoặc rút ý kiến bằng lệnh /my đến { $closes }. Nếu muốn góp ý thêm, vui lòng chọn nội dung bên dưới.

## The resident's opinions (/my)

my-empty = Quý vị chưa có ý kiến nào trong đợt lấy ý kiến này.
my-header =
    <b>Ý kiến của Quý vị</b> ({ $count })
    📝 chưa gửi · ✅ đã gửi · 🚫 đã rút. Chọn một ý kiến để xem đầy đủ.
my-older = { $count } ý kiến cũ hơn không hiển thị ở đây.
my-closed-note = Hiện không trong thời gian lấy ý kiến nên không thể sửa hoặc rút ý kiến.
my-item-draft = 📝 { $title }: { $preview }
my-item-submitted = ✅ { $title }: { $preview }
my-item-withdrawn = 🚫 { $title }: { $preview }
my-opinion =
    <b>Ý kiến { $reference }</b> · { $title }
    Trạng thái: { $status ->
        [draft] chưa gửi (đang chờ xem lại)
        [submitted] đã gửi
       *[withdrawn] đã rút
    }
    Thời gian góp ý: { $created }
my-opinion-edited = Sửa lần cuối: { $edited }
my-opinion-text = { $text }
my-not-found = Không tìm thấy ý kiến { $reference }.
my-already-withdrawn = Ý kiến { $reference } đã được rút.
choice-edit = ✏️ Sửa ý kiến
choice-withdraw = ↩️ Rút ý kiến
choice-back = ⬅️ Quay lại
edit-prompt =
    Quý vị vui lòng gửi nội dung mới cho ý kiến <b>{ $reference }</b> (tối đa { $max } ký tự). Nội dung hiện tại:
    <i>{ $preview }</i>
choice-cancel-edit = Không sửa nữa
edit-done = Đã cập nhật ý kiến <b>{ $reference }</b>.
withdraw-confirm =
    Quý vị có chắc muốn rút ý kiến <b>{ $reference }</b>? Ý kiến đã rút sẽ không được đưa vào tổng hợp.
    <i>{ $preview }</i>
choice-withdraw-confirm = Có, rút ý kiến này
choice-withdraw-keep = Không, giữ lại
withdraw-done = Đã rút ý kiến <b>{ $reference }</b>.

## Deleting one's data (/delete_me)

delete-explain =
    <b>Xóa dữ liệu của Quý vị</b>
    Hệ thống sẽ xóa tên hiển thị, trạng thái trò chuyện, thông tin đồng ý và tài khoản trò chuyện của Quý vị. Việc này không thể hoàn tác.
    Với các ý kiến đã góp, Quý vị chọn rút toàn bộ (không đưa vào tổng hợp) hoặc giữ lại ở dạng ẩn danh, không còn liên kết với Quý vị.
choice-delete-withdraw = Xóa và rút toàn bộ ý kiến
choice-delete-keep = Xóa, giữ ý kiến ẩn danh
choice-delete-cancel = Hủy, không xóa
deleted-withdrawn = Đã xóa dữ liệu của Quý vị và rút toàn bộ ý kiến. Nếu muốn tham gia lại, Quý vị gõ /start.
deleted-kept = Đã xóa dữ liệu của Quý vị. Các ý kiến được giữ lại ở dạng ẩn danh, không còn liên kết với Quý vị. Nếu muốn tham gia lại, Quý vị gõ /start.

## Language

language-prompt = Quý vị muốn nhận tin nhắn bằng ngôn ngữ nào? / Which language would you like?
language-vi = Tiếng Việt
language-en = English
language-set = Đã chuyển sang tiếng Việt.

## Commands, privacy and errors

help =
    <b>Hướng dẫn sử dụng</b>
    /start: bắt đầu hoặc tiếp tục góp ý
    /my: xem, sửa, rút ý kiến của Quý vị
    /privacy: thông báo về xử lý dữ liệu cá nhân
    /delete_me: xóa dữ liệu của Quý vị
    /notices on hoặc /notices off (/thongbao bat, /thongbao tat): nhận hoặc thôi nhận thông báo của địa phương qua tin nhắn riêng
    /lienket: liên kết tài khoản Zalo và Telegram để được tính là một người (/lienket huy để hủy)
    /language: đổi ngôn ngữ (Tiếng Việt / English)
    /cancel: thoát bước đang làm
    /help: xem hướng dẫn này
    Khi có các lựa chọn, Quý vị bấm nút hoặc gõ số thứ tự. Ý kiến được gửi bằng tin nhắn văn bản.
privacy-full =
    <b>Thông báo về xử lý dữ liệu cá nhân</b>
    <b>Đơn vị thu thập và xử lý:</b> { $issuer }.
    <b>Dữ liệu thu thập:</b> ý kiến của Quý vị về { $document }; tổ dân phố, thôn và đối tượng nếu Quý vị cung cấp; tên hiển thị nếu Quý vị chọn góp ý có tên; mã tài khoản trò chuyện, chỉ dùng để Quý vị xem, sửa, rút ý kiến của mình.
    <b>Mục đích:</b> { $purpose }
    <b>Dữ liệu nhạy cảm:</b> ý kiến về văn kiện chính trị là dữ liệu cá nhân nhạy cảm theo Nghị định 13/2023/NĐ-CP, chỉ được xử lý khi Quý vị đồng ý. Quý vị có thể góp ý ẩn danh.
    <b>Thời gian lưu trữ:</b> thông tin nhận dạng được lưu riêng với nội dung ý kiến và được xóa sau { $months } tháng kể từ khi kết thúc lấy ý kiến ({ $closes }). Báo cáo tổng hợp không nêu tên người góp ý.
    <b>Quyền của Quý vị:</b> xem, sửa, rút ý kiến trong thời gian lấy ý kiến (/my); rút lại sự đồng ý và xóa dữ liệu của mình bất cứ lúc nào (/delete_me).
    <b>Liên kết Zalo và Telegram:</b> chỉ khi Quý vị tự liên kết (/lienket), hệ thống ghi hai tài khoản trò chuyện là của cùng một người để đếm một lần khi tổng hợp; không sao chép tên hay ý kiến giữa hai kênh; hủy bất cứ lúc nào (/lienket huy).
privacy-general =
    <b>Thông báo về xử lý dữ liệu cá nhân</b>
    Hệ thống chỉ lưu ý kiến của Quý vị khi Quý vị đồng ý tham gia một đợt lấy ý kiến. Ý kiến về văn kiện chính trị là dữ liệu cá nhân nhạy cảm theo Nghị định 13/2023/NĐ-CP. Quý vị có thể góp ý ẩn danh, xem, sửa, rút ý kiến (/my) và xóa dữ liệu của mình bất cứ lúc nào (/delete_me).
unknown-command = Không có lệnh { $command }. Quý vị gõ /help để xem các lệnh.
cancelled = Đã hủy.
cancelled-to-menu = Đã thoát bước vừa rồi. Các ý kiến đã ghi nhận vẫn được giữ nguyên.
cancelled-out = Đã thoát. Khi muốn góp ý, Quý vị gõ /start.
button-stale = Nút này đã cũ. Quý vị vui lòng dùng các lựa chọn mới dưới đây.
error-choose = Quý vị vui lòng chọn một trong các mục dưới đây (bấm nút hoặc gõ số thứ tự).
error-choose-topic-first = Để góp ý, Quý vị vui lòng chọn một nội dung trước, sau đó gửi ý kiến.
error-media = Hiện hệ thống chỉ nhận ý kiến bằng tin nhắn văn bản. Quý vị vui lòng gõ nội dung thay vì gửi ảnh, nhãn dán, ghi âm hay tệp.
error-empty = Tin nhắn không có nội dung. Quý vị vui lòng nhập ý kiến bằng chữ.
error-too-long = Ý kiến dài { $length } ký tự, vượt quá giới hạn { $max } ký tự. Quý vị vui lòng chia thành nhiều tin nhắn ngắn hơn. Các ý kiến đã ghi nhận trước đó vẫn được giữ nguyên.
error-no-letters = Tin nhắn chỉ có biểu tượng hoặc dấu câu. Quý vị vui lòng nhập ý kiến bằng chữ.
notices-on = Quý vị đã đăng ký nhận thông báo của địa phương qua tin nhắn riêng. Để thôi nhận, gõ /notices off (hoặc /thongbao tat).
notices-off = Quý vị sẽ không nhận thông báo của địa phương qua tin nhắn riêng nữa. Để nhận lại, gõ /notices on (hoặc /thongbao bat).
notices-usage = Để nhận thông báo của địa phương qua tin nhắn riêng, gõ /notices on (hoặc /thongbao bat); để thôi nhận, gõ /notices off (hoặc /thongbao tat).

## Notices question after consent, and identity across channels (/lienket)

notices-ask = Quý vị có muốn nhận thông báo của địa phương (lịch lấy ý kiến, nhắc hạn góp ý, kết quả tiếp thu) qua cuộc trò chuyện này không? Quý vị có thể đổi ý bất cứ lúc nào bằng /notices on hoặc /notices off (/thongbao bat, /thongbao tat).
choice-notices-yes = Có, nhận thông báo
choice-notices-no = Không, cảm ơn
notices-declined = Quý vị sẽ không nhận thông báo của địa phương qua tin nhắn riêng. Khi muốn nhận, gõ /notices on (hoặc /thongbao bat).
link-code =
    <b>Liên kết tài khoản Zalo và Telegram</b>
    Mã liên kết của Quý vị: <b>{ $code }</b>
    Quý vị mở cuộc trò chuyện với gopy trên kênh kia (Zalo hoặc Telegram) và gõ: /lienket { $code }
    Mã chỉ dùng được một lần, trong { $minutes } phút.
    Liên kết chỉ để khi tổng hợp, Quý vị được tính là một người dù góp ý trên nhiều kênh. Ý kiến vẫn giữ nguyên kênh gửi; không có tên hay thông tin nào được sao chép giữa hai kênh. Quý vị có thể hủy liên kết bất cứ lúc nào bằng /lienket huy.
link-status-linked = Tài khoản này đang được liên kết với tài khoản của Quý vị ở kênh khác.
link-done = Đã liên kết hai tài khoản của Quý vị. Khi tổng hợp, Quý vị được tính là một người; ý kiến vẫn giữ nguyên kênh gửi. Để hủy liên kết, gõ /lienket huy.
link-already = Hai tài khoản này đã được liên kết với nhau từ trước.
link-own-code = Đây là mã được tạo trên chính cuộc trò chuyện này. Quý vị vui lòng gõ mã trên kênh kia (Zalo hoặc Telegram).
link-unknown = Mã liên kết không đúng. Quý vị kiểm tra lại mã, hoặc gõ /lienket trên kênh kia để lấy mã mới.
link-expired = Mã liên kết đã hết hạn (mã chỉ dùng được trong { $minutes } phút). Quý vị gõ /lienket trên kênh kia để lấy mã mới.
link-used = Mã liên kết này đã được dùng; mỗi mã chỉ dùng được một lần. Quý vị gõ /lienket trên kênh kia để lấy mã mới.
link-removed = Đã hủy liên kết. Tài khoản trên kênh này được tính riêng; các ý kiến đã gửi không thay đổi.
link-none = Tài khoản này chưa liên kết với kênh nào. Để liên kết, gõ /lienket.
delete-linked = Tài khoản này đang liên kết với tài khoản của Quý vị ở kênh khác. Xóa dữ liệu sẽ xóa cả liên kết (tài khoản kia giữ nguyên). Nếu chỉ muốn hủy liên kết, Quý vị chọn «Chỉ hủy liên kết».
choice-delete-unlink = Chỉ hủy liên kết, không xóa
