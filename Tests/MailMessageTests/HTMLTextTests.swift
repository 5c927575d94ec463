import MailMessage
import Testing

@Suite struct HTMLTextTests {
    // MARK: Text

    @Test(arguments: [
        ("Hello <b>world</b>", "Hello world"),
        ("<p>one</p><p>two</p>", "one\ntwo"),
        ("a<br>b<br/>c</br>d", "a\nb\nc\nd"),
        ("<div>x</div><div>y</div>", "x\ny"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("<ul><li>one<li>two</ul>after", "one\ntwo\nafter"),
        ("<h1>Title</h1>text<hr>more", "Title\ntext\nmore"),
        ("<blockquote>q</blockquote>r", "q\nr"),
        ("V<b>ia</b>gra", "Viagra"),
        ("  lots \n\t of\r\n   space  ", "lots of space"),
        ("<p>  <p>  <p>x", "x"),
        ("a < b and c > d", "a < b and c > d"),
        ("1 <2", "1 <2"),
        ("x<", "x<"),
        ("x</", "x</"),
        ("a</>b", "ab"),
        ("<", "<"),
        ("", ""),
    ])
    func visibleText(html: String, expected: String) {
        #expect(HTMLText.extract(html).text == expected)
    }

    @Test(arguments: [
        ("&amp; &lt; &gt; &quot; &apos;", "& < > \" '"),
        ("&copy; &reg; &trade; &euro; &pound;", "© ® ™ € £"),
        ("&hellip;&mdash;&ndash;&lsquo;&rsquo;&ldquo;&rdquo;", "…—–‘’“”"),
        ("&bull;&middot;&laquo;&raquo;", "•·«»"),
        ("caf&eacute; &Uuml;ber na&iuml;ve &ntilde; &szlig; &AElig;", "café Über naïve ñ ß Æ"),
        ("&alpha;&Omega;&rarr;&infin;&hearts;&lang;", "αΩ→∞♥⟨"),
        ("&#65;&#x42;&#X43;&#0067;", "ABCC"),
        ("&#x1F600; &#128512;", "😀 😀"),
        ("&#0; &#xD800; &#x110000; &#99999999999;", "\u{FFFD} \u{FFFD} \u{FFFD} \u{FFFD}"),
        ("&#150;&#153;&#128;", "–™€"),
        ("&#65&#66 x", "AB x"),
        ("&amp &lt3 &copy2024 &notit;", "& <3 ©2024 ¬it;"),
        ("&hellip &bogus; & &; &#; &#x;", "&hellip &bogus; & &; &#; &#x;"),
        ("AT&T", "AT&T"),
        ("&AMP; &COPY &LT;", "& © <"),
        ("a&nbsp;&nbsp;&nbsp;b", "a b"),
        ("a\u{00A0}\u{00A0}b", "a b"),
        ("Vi&#8203;a&zwnj;gr&shy;a\u{200B}", "Viagra"),
    ])
    func entities(html: String, expected: String) {
        #expect(HTMLText.extract(html).text == expected)
    }

    @Test func invisibleCharactersAreCounted() {
        let c = HTMLText.extract("Vi&#8203;a&zwnj;gr&shy;a\u{200B}\u{FEFF}")
        #expect(c.text == "Viagra")
        #expect(c.invisibleCharacterCount == 5)
    }

    @Test func scriptsStylesAndCommentsAreDropped() {
        let html = """
            <!DOCTYPE html><?xml version="1.0"?><html><head><title>My &amp; Title</title>
            <style>p { color: red } a < b </style>
            <script>if (a < b && c > d) { document.write("<p>no</p>") }</script>
            </head><body><!-- a comment with <b>tags</b> -->Hello<![CDATA[ hidden ]]> there
            <SCRIPT type="text/javascript">var x = "</scr" + "ipt>";</SCRIPT >visible
            <noembed>nope</noembed><iframe src="http://frame.example/">alt</iframe>end</body></html>
            """
        let c = HTMLText.extract(html)
        #expect(c.text == "Hello there visible end")
        #expect(c.title == "My & Title")
        #expect(c.anomalies.isEmpty)
    }

    @Test(arguments: [
        ("a<!---->b", "ab"),
        ("a<!-->b", "ab"),
        ("a<!--->b", "ab"),
        ("a<!-- x --!>b", "ab"),
        ("a<!-- -- -->b", "ab"),
        ("a<!-- <!-- nested --> -->b", "a -->b"),
        ("a<!DOCTYPE foo>b", "ab"),
        ("a<?php echo 1 ?>b", "ab"),
        ("a<!--[if mso]><p>outlook</p><![endif]-->b", "ab"),
    ])
    func comments(html: String, expected: String) {
        let c = HTMLText.extract(html)
        #expect(c.text == expected)
        #expect(!c.anomalies.contains(.htmlBadStructure))
    }

    @Test func textareaAndXmpAreText() {
        #expect(HTMLText.extract("<textarea>a &amp; <b>b</b></textarea>").text == "a & <b>b</b>")
        #expect(HTMLText.extract("x<xmp><i>&amp;</i></xmp>y").text == "x\n<i>&amp;</i>\ny")
        #expect(HTMLText.extract("<plaintext><b>rest</b>").text == "<b>rest</b>")
    }

    @Test func attributesWithQuotesAndAngleBrackets() {
        let c = HTMLText.extract(
            ##"<a title="1 > 0" href='http://x.example/?a=1&amp;b=2'>go</a> <img alt=a>b"##)
        #expect(c.text == "go b")
        #expect(c.links == [HTMLLink(href: "http://x.example/?a=1&b=2", text: "go")])
    }

    @Test func titleIsSeparateAndCollapsed() {
        let c = HTMLText.extract("<title>\n  Big   &nbsp; Sale\n</title><p>Body")
        #expect(c.title == "Big Sale")
        #expect(c.text == "Body")
    }

    @Test func textIsBoundedAtCharacterBoundary() {
        let c = HTMLText.extract("<p>héllo wörld</p>", maxTextBytes: 2)
        #expect(c.text == "h")
        #expect(c.isTextTruncated)
        let d = HTMLText.extract("<p>hello</p><p>world</p>", maxTextBytes: 7)
        #expect(d.text == "hello\nw")
        #expect(HTMLText.extract("<p>hello</p>", maxTextBytes: 5).isTextTruncated == false)
    }

    // MARK: Hidden and tiny text

    @Test(arguments: [
        ##"<div style="display:none">secret words</div>shown"##,
        ##"<span style="DISPLAY: NONE !important">secret words</span>shown"##,
        ##"<span style="visibility:hidden">secret words</span>shown"##,
        ##"<span style="opacity:0">secret words</span>shown"##,
        ##"<span style="opacity: 0.01">secret words</span>shown"##,
        ##"<span style="color:#fff">secret words</span>shown"##,
        ##"<span style="color:#FFFFFF">secret words</span>shown"##,
        ##"<span style="color: white">secret words</span>shown"##,
        ##"<span style="color: rgb(255, 255, 255)">secret words</span>shown"##,
        ##"<span style="color: rgba(0,0,0,0)">secret words</span>shown"##,
        ##"<span style="color:transparent">secret words</span>shown"##,
        ##"<font color="#fefefe">secret words</font>shown"##,
        ##"<font color="white">secret words</font>shown"##,
        ##"<table bgcolor="#000000"><tr><td><font color="black">secret words</font></td></tr></table>shown"##,
        ##"<div style="background-color:#123456"><span style="color:#123457">secret words</span></div>shown"##,
        ##"<div style="height:0;overflow:hidden">secret words</div>shown"##,
        ##"<div style="max-height:0px; overflow: hidden; mso-hide: all">secret words</div>shown"##,
        ##"<div style="mso-hide:all">secret words</div>shown"##,
        ##"<span style="font-size:0">secret words</span>shown"##,
        ##"<span style="font: 0/0 a">secret words</span>shown"##,
        ##"<p style="text-indent:-9999px">secret words</p>shown"##,
        ##"<div style="position:absolute;left:-5000px">secret words</div>shown"##,
        ##"<div hidden>secret words</div>shown"##,
        ##"<template>secret words</template>shown"##,
        ##"<div style="display:/**/none">secret words</div>shown"##,
        ##"<div style="display&#58;none">secret words</div>shown"##,
        ##"<div style=display:none>secret words</div>shown"##,
        ##"<div style="display:none"><p>secret <b>words</b></p></div>shown"##,
    ])
    func hiddenText(html: String) {
        let c = HTMLText.extract(html)
        #expect(c.text == "shown")
        #expect(c.hiddenTextBytes == 11)  // "secret" + "words"
        #expect(c.tinyTextBytes == 0)
        #expect(c.anomalies == [.htmlHiddenText])
    }

    @Test(arguments: [
        ##"<span style="font-size:1px">tiny</span> shown"##,
        ##"<span style="font-size: 2px">tiny</span> shown"##,
        ##"<span style="font-size:0.1em">tiny</span> shown"##,
        ##"<span style="font-size:1pt">tiny</span> shown"##,
        ##"<span style="font-size:5%">tiny</span> shown"##,
        ##"<font size="1">tiny</font> shown"##,
        ##"<font size=0>tiny</font> shown"##,
        ##"<font size="-2">tiny</font> shown"##,
        ##"<font size=1><span style="font-size:0.9em">tiny</span></font> shown"##,
    ])
    func tinyText(html: String) {
        let c = HTMLText.extract(html)
        #expect(c.text == "tiny shown")
        #expect(c.tinyTextBytes == 4)
        #expect(c.hiddenTextBytes == 0)
        #expect(c.anomalies == [.htmlTinyText])
    }

    @Test(arguments: [
        ##"<span style="font-size:12px">normal</span>"##,
        ##"<font size="2">normal</font>"##,
        ##"<font size=1><span style="font-size:14px">normal</span></font>"##,
        ##"<span style="color:#eeeeee">normal</span>"##,
        ##"<body bgcolor="black" text="white">normal</body>"##,
        ##"<div style="background:#000"><span style="color:#fff">normal</span></div>"##,
        ##"<td style="background: url(http://img.example/bg.png) #fff"><font color=white>normal</font></td>"##,
        ##"<div style="visibility:hidden"><span style="visibility:visible">normal</span></div>"##,
        ##"<div style="height:0">normal</div>"##,
        ##"<div style="opacity:0.5">normal</div>"##,
        ##"<body text="white"><a href="http://x.example/">normal</a></body>"##,
        ##"<div title="display:none">normal</div>"##,
        ##"<div data-style="display:none">normal</div>"##,
    ])
    func visibleTextIsNotFlagged(html: String) {
        let c = HTMLText.extract(html)
        #expect(c.text == "normal")
        #expect(c.hiddenTextBytes == 0)
        #expect(c.tinyTextBytes == 0)
    }

    @Test func hiddenStateEndsWithTheElement() {
        let c = HTMLText.extract(
            ##"<div><span style="display:none">one <b>two</b></span> three <div style="color:#fff">four</div>five</div>six"##
        )
        #expect(c.text == "three\nfive\nsix")
        #expect(c.hiddenTextBytes == 10)
    }

    @Test func hiddenBlocksDoNotSeparateWords() {
        // A display:none block renders nothing, not even a line break.
        let c = HTMLText.extract(##"Vi<div style="display:none">xyz</div>agra"##)
        #expect(c.text == "Viagra")
        #expect(c.hiddenTextBytes == 3)
    }

    @Test func invisibleButLaidOutBlocksStillBreakLines() {
        // White-on-white text takes room; display:none text doesn't.
        let c = HTMLText.extract(##"Vi<div style="color:#fff">xyz</div>agra"##)
        #expect(c.text == "Vi\nagra")
        #expect(c.hiddenTextBytes == 3)
        #expect(HTMLText.extract("a</p>b").text == "a\nb")
    }

    @Test func hiddenWinsOverTiny() {
        let c = HTMLText.extract(##"<font size=1 color="#ffffff">both</font>"##)
        #expect(c.text == "")
        #expect(c.hiddenTextBytes == 4)
        #expect(c.tinyTextBytes == 0)
    }

    @Test func moreURLAttributes() {
        let html = ##"""
            <base href="http://base.example/"><meta http-equiv=refresh content="5;url=http://r.example/">
            <img srcset="http://s.example/1x.png 1x, http://s.example/2x.png 2x" src=/rel.png>
            <object data="http://obj.example/o.swf"></object><video poster="http://v.example/p.jpg"></video>
            <button formaction="http://fa.example/">b</button><table background="http://tb.example/t.gif">
            """##
        #expect(
            HTMLText.extract(html).urls == [
                "http://base.example/", "http://r.example/", "/rel.png", "http://s.example/1x.png",
                "http://s.example/2x.png", "http://obj.example/o.swf", "http://v.example/p.jpg",
                "http://fa.example/",
                "http://tb.example/t.gif",
            ])
    }

    @Test func impliedEndTagsCloseHiddenParagraphs() {
        let c = HTMLText.extract(
            ##"<p style="display:none">hidden<p>shown<li style="visibility:hidden">x<li>y"##)
        #expect(c.text == "shown\ny")
        #expect(c.hiddenTextBytes == 7)
    }

    @Test func misnestedAndStrayEndTags() {
        // </span> can't close through a <div>; </div> closes the span inside it.
        #expect(
            HTMLText.extract(##"<span style="display:none"><div>a</span>b</div>c</span>d"##).text == "d")
        #expect(HTMLText.extract(##"<div><span style="display:none">a</div>b"##).text == "b")
        #expect(HTMLText.extract(##"</div></span></p>x</td></table>"##).text == "x")
        // Content after </body></html> is still shown in the body.
        #expect(
            HTMLText.extract(##"<body style="color:#fff"></body></html>after"##).hiddenTextBytes == 5)
    }

    @Test func unclosedHiddenElementHidesTheRest() {
        let c = HTMLText.extract(##"shown <div style="display:none">rest of the document"##)
        #expect(c.text == "shown")
        #expect(c.hiddenTextBytes == 17)
    }

    // MARK: Links and URLs

    @Test func linksAndURLs() {
        let html = """
            <html><head><meta http-equiv="Refresh" content="0; URL='http://refresh.example/r'">
            <link rel=stylesheet href="http://css.example/s.css"></head>
            <body background="http://bg.example/b.jpg">
            <a href="http://one.example/?a=1&amp;b=2">First <b>link</b></a>
            <a href=" http://two.example/
            path ">Second</a>
            <img src="http://img.example/1.png"><img src='http://img.example/1.png'>
            <map><area href="http://area.example/"></map>
            <form action="https://form.example/post"><input type="image" src="http://btn.example/b.png"></form>
            <iframe src="http://frame.example/"></iframe><frame src="http://frame2.example/">
            <div style="background-image: url('http://style.example/x.png')">x</div>
            <style>body { background: url(http://sheet.example/y.png) }</style>
            <a name="anchor">no href</a>
            </body></html>
            """
        let c = HTMLText.extract(html)
        #expect(
            c.urls == [
                "http://refresh.example/r", "http://css.example/s.css", "http://bg.example/b.jpg",
                "http://one.example/?a=1&b=2", "http://two.example/path", "http://img.example/1.png",
                "http://area.example/", "https://form.example/post", "http://btn.example/b.png",
                "http://frame.example/", "http://frame2.example/", "http://style.example/x.png",
                "http://sheet.example/y.png",
            ])
        #expect(
            c.links == [
                HTMLLink(href: "http://one.example/?a=1&b=2", text: "First link"),
                HTMLLink(href: "http://two.example/path", text: "Second"),
            ])
        #expect(c.imageCount == 3)
        #expect(c.tagCounts["a"] == 3)
        #expect(c.tagCounts["img"] == 2)
        #expect(c.tagCounts["meta"] == 1)
        #expect(c.text == "First link Second\nx\nno href")
        #expect(c.anomalies.isEmpty)
    }

    @Test func urlsAreBounded() {
        let html = (0..<50).map { "<a href=\"http://h\($0).example/\">l\($0)</a>" }.joined()
        let c = HTMLText.extract(html, maxURLs: 10)
        #expect(c.urls.count == 10)
        #expect(c.links.count == 10)
        #expect(c.urls.first == "http://h0.example/")
    }

    @Test func attributeEntitiesFollowBrowserRules() {
        // "&copy=" in an attribute is not a reference; "&copy;" is.
        let c = HTMLText.extract(##"<a href="http://x.example/?a=1&copy=2&amp;b&lt;">x</a>"##)
        #expect(c.links.first?.href == "http://x.example/?a=1&copy=2&b<")
    }

    @Test func nestedAnchorsCloseTheOpenOne() {
        let c = HTMLText.extract(
            ##"<a href="http://a.example/">one<a href="http://b.example/">two</a>three"##)
        #expect(
            c.links == [
                HTMLLink(href: "http://a.example/", text: "one"),
                HTMLLink(href: "http://b.example/", text: "two"),
            ])
        #expect(c.text == "onetwothree")
    }

    @Test func anchorTextEndsWithItsOwnElement() {
        // The first <a> can't be closed across the table; closing it later must not cut the second link.
        let c = HTMLText.extract(
            ##"<a href="http://a.example/">one<table><tr><td><a href="http://b.example/">two</td></tr></table>three</a>"##
        )
        #expect(c.links.map(\.text) == ["one", "two"])
        #expect(HTMLText.extract("<b\u{0}>x</b>").tagCounts["b"] == nil)
    }

    @Test(arguments: [
        (##"<a href="http://evil.example/login">https://www.paypal.com/login</a>"##, true),
        (##"<a href="http://evil.example/">www.paypal.com</a>"##, true),
        (##"<a href="http://evil.example/">paypal.com</a>"##, true),
        (##"<a href="http://paypal.com@evil.example/">paypal.com</a>"##, true),
        (##"<a href="http://192.168.1.1/">Sign in at https://bank.example</a>"##, true),
        (##"<a href="http://www.paypal.com/x">paypal.com</a>"##, false),
        (##"<a href="https://secure.paypal.com/x">http://www.paypal.com/</a>"##, false),
        (##"<a href="http://shop.example.co.uk/">www.example.co.uk</a>"##, false),
        (##"<a href="http://evil.example/">Click here</a>"##, false),
        (##"<a href="mailto:a@b.example">other.example</a>"##, false),
        (##"<a href="http://evil.example/">Mr.Smith</a>"##, false),
    ])
    func linkTextMismatch(html: String, mismatch: Bool) {
        let c = HTMLText.extract(html)
        #expect(c.anomalies.contains(.htmlLinkTextMismatch) == mismatch)
        #expect(c.linkTextMismatchCount == (mismatch ? 1 : 0))
    }

    @Test func tagCountsAreLowercasedAndBounded() {
        let c = HTMLText.extract("<P>a<p>b<DIV></div><My-Widget></my-widget><my-widget>")
        #expect(c.tagCounts == ["p": 2, "div": 1, "my-widget": 2])
        let many = (0..<400).map { "<x\($0)>" }.joined()
        #expect(HTMLText.extract(many).tagCounts.count == 256)
    }

    // MARK: Broken and hostile input

    @Test(arguments: [
        ("text <a href=\"http://x.example/", "text"),
        ("text <div class='unterminated>more", "text"),
        ("text <!-- unterminated comment", "text"),
        ("text <script>never closed", "text"),
        ("text <title>never closed", "text"),
        ("text <!DOCTYPE", "text"),
        ("text <b", "text"),
    ])
    func unterminatedConstructs(html: String, expected: String) {
        let c = HTMLText.extract(html)
        #expect(c.text == expected)
        #expect(c.anomalies.contains(.htmlBadStructure))
    }

    @Test func hostileInputsCompleteAndStayBounded() {
        let mb = 1 << 20
        let cases: [String] = [
            "<a " + String(repeating: "x", count: mb),
            "<a href=\"" + String(repeating: "y", count: mb),
            "<!--" + String(repeating: "-", count: mb),
            "<![CDATA[" + String(repeating: "<![CDATA[ >", count: mb / 11),
            String(repeating: "<div>", count: mb / 5),
            String(repeating: "<span style=\"display:none\">", count: mb / 27) + "x",
            String(repeating: "</div>", count: mb / 6),
            String(repeating: "<p><table>", count: mb / 10),
            String(repeating: "<span><div>", count: 300) + String(repeating: "</span>", count: mb / 7),
            String(repeating: "&#x1F600", count: mb / 8),
            String(repeating: "&amp", count: mb / 4),
            String(repeating: "<", count: mb),
            String(repeating: "</", count: mb / 2),
            String(repeating: "<a href=x>", count: mb / 10),
            String(repeating: "<x", count: mb / 2),
            String(repeating: "<script>", count: mb / 8),
            String(decoding: (0..<mb).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }, as: UTF8.self),
        ]
        for html in cases {
            let c = HTMLText.extract(html, maxTextBytes: 4096, maxURLs: 100)
            #expect(c.text.utf8.count <= 4096)
            #expect(c.urls.count <= 100)
            #expect(c.links.count <= 100)
            #expect(c.tagCounts.count <= 256)
        }
    }

    @Test func deterministicGarbageNeverCrashes() {
        // A fixed pseudo-random mix of markup fragments; checks only that results stay bounded.
        let pieces = [
            "<", ">", "</", "<a href=\"http://x.example/\">", "</a>", "<div style=\"display:none\">",
            "</div>",
            "<p>", "<!--", "-->", "<script>", "</script>", "<![CDATA[", "]]>", "&", "&amp", "&#x",
            "1F600;", "\"", "'",
            "=", " ", "\n", "word", "é", "\u{200B}", "<font size=1 color=#fff>", "<table><tr><td>",
            "<title>", "/>",
            "<style>", "</style>", "url(", ")", "<textarea>", "<plaintext>", "<br>", "<li>", "<?",
            "<!DOCTYPE",
        ]
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<1_000 {
            var html = ""
            for _ in 0..<Int(state % 60) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                html += pieces[Int(state >> 33) % pieces.count]
            }
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let c = HTMLText.extract(html, maxTextBytes: 64, maxURLs: 3)
            #expect(c.text.utf8.count <= 64)
            #expect(c.urls.count <= 3 && c.links.count <= 3)
        }
    }

    @Test func deepNestingRecovers() {
        let open = String(repeating: "<div>", count: 1000)
        let close = String(repeating: "</div>", count: 1000)
        let c = HTMLText.extract(
            ##"<div style="display:none">"## + open + "hidden" + close + "</div>shown")
        #expect(c.text == "shown")
        #expect(c.hiddenTextBytes == 6)
    }
}
