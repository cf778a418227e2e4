## Tổng hợp ý kiến: ghi ý kiến tại hội nghị, nhập bảng tổng hợp của các đơn vị, báo cáo tổng hợp.
## Owned by src/synthesis/. Văn phong hành chính; giữ tệp tiếng Anh cùng nội dung.

## Lỗi khi nhập tệp. $value: giá trị trong ô; $known: các giá trị hợp lệ.
syn-import-not-utf8 = Tệp không phải văn bản UTF-8. Hãy lưu lại tệp dưới dạng "CSV UTF-8" hoặc dùng tệp Excel (.xlsx).
syn-import-bad-csv = Không đọc được tệp CSV: { $error }.
syn-import-bad-xlsx = Không đọc được tệp Excel: { $error }.
syn-import-empty = Tệp không có ý kiến nào.
syn-import-no-text = Chưa có nội dung ý kiến.
syn-import-too-long = Nội dung ý kiến dài quá { $max } ký tự; đề nghị tách thành nhiều ý kiến.
syn-import-no-topic = Chưa ghi chủ đề.
syn-import-unknown-topic = Chủ đề "{ $value }" không có trong đợt lấy ý kiến (các chủ đề: { $known }).
syn-import-unknown-section = Mục dự thảo "{ $value }" không có trong dự thảo (các mục: { $known }).
syn-import-unknown-unit = Đơn vị "{ $value }" không có trong đợt lấy ý kiến (các đơn vị: { $known }).
syn-import-unknown-group = Đối tượng "{ $value }" không có trong đợt lấy ý kiến (các đối tượng: { $known }).
syn-import-unknown-stance = Quan điểm "{ $value }" không hợp lệ (ghi: Tán thành, Đề nghị sửa đổi, Không tán thành hoặc Khác).
syn-import-unknown-column = Cột "{ $value }" không có trong mẫu.
syn-import-missing-column = Thiếu cột "{ $value }".
syn-import-bad-date = Ngày "{ $value }" không hợp lệ (ghi theo dạng ngày/tháng/năm, ví dụ 20/11/2026).
syn-import-row = Dòng { $row }: { $problem }
syn-import-refused = Có { $count } lỗi; chưa nhập ý kiến nào. Đề nghị sửa tệp rồi nhập lại.
syn-import-done = Đã nhập { $count } ý kiến từ tệp { $file }.
syn-duplicates = { $count } ý kiến lặp lại nguyên văn ý kiến trước đó của cùng một người: vẫn được lưu, chỉ tính một lần.
syn-record-done = Đã ghi { $count } ý kiến của hội nghị "{ $meeting }".
syn-meeting-created = Đã tạo hội nghị số { $id }: { $name }, ngày { $date }, tại { $place }.
syn-meeting-unknown = Không có hội nghị số { $id } trong đợt lấy ý kiến này.
syn-meeting-needed = Cần chọn hội nghị (--meeting SỐ) hoặc ghi đủ tên, ngày và địa điểm hội nghị (--meeting-name, --date, --place).
syn-record-needs-text = Cần ghi chủ đề và nội dung ý kiến (--topic, --text) hoặc chọn tệp (--file).
syn-unknown-campaign = Không có đợt lấy ý kiến "{ $campaign }".
syn-bad-date = Ngày "{ $value }" không hợp lệ (ghi theo dạng ngày/tháng/năm, ví dụ 20/11/2026).
syn-unknown-extension = Chỉ nhận tệp .csv hoặc .xlsx.
syn-cannot-read = Không đọc được tệp { $file }: { $error }.
syn-template-written = Đã ghi mẫu nhập ý kiến vào { $file }.
syn-meetings-none = Đợt lấy ý kiến này chưa có hội nghị nào.

## Tên gọi dùng trong báo cáo tổng hợp.
syn-source-telegram = Telegram
syn-source-zalo = Zalo
syn-source-web = Trang web
syn-source-terminal = Dòng lệnh
syn-source-meeting = Hội nghị
syn-source-import = Bảng tổng hợp của đơn vị
syn-stance-agree = Tán thành
syn-stance-change = Đề nghị sửa đổi
syn-stance-disagree = Không tán thành
syn-stance-other = Khác
syn-stance-none = Chưa phân loại
syn-excluded-withdrawn = Người góp ý đã rút lại
syn-excluded-draft = Chưa gửi (bản nháp)
syn-excluded-pending = Đang chờ kiểm duyệt
syn-excluded-hidden = Bị ẩn sau kiểm duyệt
syn-excluded-duplicate = Trùng nguyên văn ý kiến trước của cùng một người
syn-no-section = Không gắn với mục cụ thể
syn-unit-direct = { $unit } (trực tiếp)
syn-not-given = Không xác định
syn-h-title = Tổng hợp ý kiến
syn-h-totals = { $opinions } ý kiến được tổng hợp của { $participants } người góp ý; { $excluded } ý kiến không tính (nêu lý do bên dưới).
syn-h-topics = Theo chủ đề và mục dự thảo
syn-h-also = ý kiến khác được cán bộ xếp thêm vào chủ đề này
syn-h-units = Theo đơn vị (cộng dồn các đơn vị trực thuộc)
syn-h-groups = Theo đối tượng
syn-h-sources = Theo hình thức góp ý
syn-h-topic-by-unit = Chủ đề theo đơn vị
syn-h-days = Số ý kiến theo ngày
syn-h-excluded = Ý kiến không tính vào tổng hợp
syn-h-listing = Toàn văn ý kiến
syn-built = Đã dựng bản tổng hợp số { $id } (ghi vào nhật ký).
syn-staff-unknown = Không có cán bộ "{ $name }".
syn-named-refused = Cán bộ "{ $name }" không có vai trò được xuất danh sách kèm họ tên (cần vai trò quản trị hoặc lãnh đạo).
syn-named-scope = Cán bộ chỉ phụ trách { $unit }: hãy chọn --unit là { $unit } hoặc đơn vị trực thuộc.
syn-named-reason = Xuất kèm họ tên cần ghi rõ lý do (--reason, ít nhất 10 ký tự); lý do được ghi vào nhật ký.
syn-exported = Đã xuất { $count } ý kiến vào { $file } (ghi vào nhật ký).
syn-yes = Có
syn-col-reference = Mã ý kiến
syn-col-topic = Chủ đề
syn-col-section = Mục dự thảo
syn-col-unit-code = Mã đơn vị
syn-col-unit = Đơn vị
syn-col-group = Đối tượng
syn-col-source = Hình thức góp ý
syn-col-date = Thời gian góp ý
syn-col-stance = Quan điểm
syn-col-similar = Nhóm ý kiến tương tự
syn-col-representative = Ý kiến đại diện nhóm
syn-col-text = Nội dung ý kiến
syn-col-name = Họ và tên
syn-col-contact = Liên hệ
syn-col-count = Số ý kiến
syn-col-total = Tổng
syn-col-day = Ngày
syn-col-reason = Lý do
syn-sheet-summary = Tổng hợp
syn-sum-opinions = Số ý kiến được tổng hợp
syn-sum-participants = Số người góp ý
syn-sum-excluded = Số ý kiến không tính
syn-doc-place-date = { $place }, ngày { $day } tháng { $month } năm { $year }
syn-doc-number = Số:      -BC/…
syn-doc-number-given = Số: { $number }
syn-doc-recipient-unit = - { $unit } (để biết);
syn-doc-nation = CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
syn-doc-motto = Độc lập - Tự do - Hạnh phúc
syn-doc-kind = BÁO CÁO
syn-doc-summary = Tổng hợp ý kiến góp ý của Nhân dân đối với { $document }
syn-doc-unit = (Kết quả tại { $unit })
syn-doc-part-1 = I. KẾT QUẢ TIẾP NHẬN Ý KIẾN
syn-doc-part-2 = II. TỔNG HỢP Ý KIẾN THEO CHỦ ĐỀ VÀ MỤC DỰ THẢO
syn-doc-part-3 = III. Ý KIẾN KHÔNG ĐƯA VÀO TỔNG HỢP
syn-doc-totals = Trong đợt { $title }, đã tiếp nhận và tổng hợp { $opinions } ý kiến của { $participants } người góp ý; { $excluded } ý kiến không đưa vào tổng hợp (nêu tại phần III). Số liệu cụ thể như sau:
syn-doc-opinions-word = ý kiến
syn-doc-none = Chưa có ý kiến nào được tổng hợp.
syn-doc-none-excluded = Không có ý kiến nào bị loại khỏi tổng hợp.
syn-doc-closing = Trên đây là báo cáo tổng hợp ý kiến góp ý của Nhân dân, kính trình cấp có thẩm quyền xem xét, tiếp thu./.
syn-doc-recipients = Nơi nhận:
syn-doc-recipients-list =
    - Thường trực cấp ủy (để báo cáo);
    - Ủy ban Mặt trận Tổ quốc;
    - Các đơn vị trực thuộc;
    - Lưu văn phòng.
syn-doc-signer = T/M CƠ QUAN TỔNG HỢP
syn-doc-sign-hint = (Ký, ghi rõ họ tên)
syn-import-checked = Tệp { $file } hợp lệ: { $count } ý kiến; chưa nhập (chạy lại không có --dry-run để nhập).
syn-threshold = Độ tương đồng phải nằm trong khoảng từ 0 đến 1.
syn-groups-built = Đã gom { $opinions } ý kiến tương tự thành { $groups } nhóm (giữ nguyên các nhóm cán bộ đã sửa).
syn-groups-none = Chưa có nhóm ý kiến tương tự nào.
syn-group-unknown = Không có nhóm số { $id }.
syn-group-made = Đã lập nhóm số { $id } gồm { $opinions } ý kiến.
syn-group-split = Đã tách { $opinions } ý kiến khỏi nhóm.
syn-not-member = Ý kiến { $reference } không thuộc nhóm số { $id }.
syn-represent-set = Ý kiến { $reference } là ý kiến đại diện của nhóm số { $id }.
syn-opinion-unknown = Không có ý kiến mang mã { $reference } trong đợt lấy ý kiến này.
syn-classify-nothing = Cần nêu thay đổi: --topic, --add-topic, --remove-topic hoặc --stance.
syn-classify-unchanged = Ý kiến { $reference } không thay đổi (chủ đề cần bỏ chưa được xếp thêm).
syn-classified = Đã phân loại lại ý kiến { $reference } ({ $changes } thay đổi, ghi vào nhật ký).
syn-rollup-no-key = Chưa có khóa ký gói tổng hợp: đặt biến môi trường { $var } (ít nhất { $bytes } ký tự, cấp trên và cấp dưới dùng chung).
syn-rollup-signature = Chữ ký của gói không khớp: gói đã bị sửa hoặc được ký bằng khóa khác; chưa nhập ý kiến nào.
syn-rollup-format = Tệp không phải gói tổng hợp của gopy (gopy.rollup/1); chưa nhập ý kiến nào.
syn-rollup-unit = Đơn vị { $unit } ({ $name }) của gói không có trong đợt lấy ý kiến này; hãy thêm đơn vị vào tệp đợt lấy ý kiến.
syn-rollup-topics = Gói có chủ đề không có trong đợt lấy ý kiến này: { $topics }; chưa nhập ý kiến nào.
syn-rollup-again = Gói của { $name } đã được nhập trước đây; chưa nhập lại ý kiến nào.
syn-rollup-done = Đã nhập { $count } ý kiến từ gói tổng hợp của { $name }.
syn-screened = { $count } ý kiến được chuyển cho người kiểm duyệt xem xét; ý kiến chỉ được đưa vào tổng hợp sau khi được giữ lại.

## Trả lời trong nhóm (replies): ý kiến chưa phân loại và ý kiến đồng tình.
syn-topic-unclassified = Chưa phân loại (trả lời bài giới thiệu đợt)
syn-h-agreements = Ý kiến đồng tình trả lời trong nhóm (biểu tượng cảm xúc, “đồng ý”, “+1”; mỗi người tính một lần cho mỗi bài)
syn-file-voice-untranscribed = [Tin nhắn thoại, chưa ghi lời]
syn-file-photo = [Ảnh, không có chú thích]
syn-file-document = [Tệp đính kèm]
syn-file-transcribed = [Ghi lời từ tin nhắn thoại] { $text }
syn-none = không có

# gopy synthesis send: each unit its own report.
syn-send-queued = { $unit }: đã xếp gửi báo cáo ({ $opinions } ý kiến) cho { $leads } qua Telegram.
syn-send-no-lead = { $unit }: KHÔNG gửi — đơn vị chưa có trưởng đơn vị (vai trò unit_lead) trên gopy.
syn-send-not-linked = { $unit }: KHÔNG gửi — trưởng đơn vị { $leads } chưa liên kết tài khoản Telegram.
syn-send-zalo-only = { $unit }: KHÔNG gửi — trưởng đơn vị { $leads } chỉ liên kết Zalo, kênh này chưa gửi được tệp.
syn-send-done = Đã xếp gửi { $queued } báo cáo của { $units } đơn vị; { $missing } đơn vị không gửi được. Bot Telegram của gopy gửi từng tệp vào tin nhắn riêng; xem kết quả bằng "gopy synthesis sent".
syn-sent-line = #{ $id } { $unit } → { $staff }: { $state ->
        [sent] đã gửi
        [failed] không gửi được
        [sending] đang gửi
       *[pending] đang chờ gửi
    } { $error }
