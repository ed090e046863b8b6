#!/usr/bin/env python3
"""Generate benches/data/comments.txt: a synthetic corpus of Chinese
live-commerce comments (直播带货弹幕) for LiveCue benchmarks.

All templates and slot values below were written by hand for LiveCue
(MIT). Output is deterministic for a given --seed (default 20240611) and
Python 3 version (it uses only `random.Random`).

    python3 bench/gen_comments.py                 # writes benches/data/comments.txt
    python3 bench/gen_comments.py -n 5000 -o /tmp/c.txt --seed 7
"""

import argparse
import os
import random

SEED = 20240611
N_LINES = 2000
LONG_SHARE = 0.02  # share of long comments (40-120 chars)

# ---------------------------------------------------------------- slot values
PRODUCTS = ["羽绒服", "针织开衫", "口红", "面霜", "牛仔裤", "保温杯", "四件套"]
# each product has a link number 1-7 in this (fictional) stream
PRODUCT_ID = {p: i + 1 for i, p in enumerate(PRODUCTS)}
WEARABLE = ["羽绒服", "针织开衫", "牛仔裤"]
# a template may start with "@group:" to restrict which product fills {prod}/{ref}/{part}
GROUPS = {
    "wear": WEARABLE,
    "top": ["羽绒服", "针织开衫"],
    "down": ["羽绒服"],
    "knit": ["针织开衫"],
    "jeans": ["牛仔裤"],
    "lip": ["口红"],
    "cream": ["面霜"],
    "beauty": ["口红", "面霜"],
    "cup": ["保温杯"],
    "bed": ["四件套"],
    "textile": ["羽绒服", "针织开衫", "牛仔裤", "四件套"],
}
SIZES = ["S", "M", "L", "XL", "XXL", "2XL", "3XL", "均码", "160", "165", "170", "175", "26码", "27码", "28码", "29码", "30码"]
COLOURS = ["黑色", "白色", "米白", "卡其", "杏色", "藏青", "酒红", "燕麦色", "奶咖", "雾霾蓝", "焦糖色", "灰色", "粉色"]
SHADES = ["999", "316", "888", "豆沙色", "番茄红", "枫叶红", "奶茶色", "1号色", "2号色"]
HEIGHTS = ["155", "158", "160", "162", "163", "165", "168", "170", "172", "175", "180"]
WEIGHTS = ["90", "95", "100", "105", "110", "115", "120", "125", "130", "140", "150", "160"]
PRICES = ["99", "129", "139", "159", "199", "239", "299", "399", "459", "599", "699"]
CITIES = ["新疆", "西藏", "广州", "上海", "北京", "成都", "哈尔滨", "海南", "内蒙古", "青海", "杭州", "武汉"]
HOST = ["主播", "主播姐姐", "宝宝", "姐姐", "小姐姐", "美女", "老板", "播播", "主播小哥哥", "小助理", "助理"]
FAMILY = ["家人们", "姐妹们", "宝子们", "兄弟们", "集美们", "朋友们"]
EMOTES = ["[赞]", "[666]", "[捂脸]", "[爱心]", "[鼓掌]", "[玫瑰]", "[笑哭]", "[比心]", "[流泪]", "[发怒]", "[微笑]", "[呲牙]", "[送心]", "[抱拳]", "[强]", "[色]", "[惊讶]", "[可怜]"]
EMOJI_POS = ["👍", "🔥", "❤️", "😍", "🥰", "👏", "💯", "🎉", "😄", "🌹", "✨", "💕"]
EMOJI_NEG = ["😭", "😡", "😤", "🙄", "😒", "💔", "😢", "👎", "😓"]
EMOJI_NEU = ["🤔", "😂", "🙏", "👀", "🤣", "😅", "🙋", "👋"]
FAKE_PHONES = ["13800000000", "13900000000", "13811112222", "18800008888", "15000000000", "17700001111"]
FAKE_WX = ["abc123456", "vx_8888", "wx000111", "haohuo666", "fuli_0000", "test_1234"]
FAKE_QQ = ["10000", "123456789", "88888888", "100001"]
PARTS = {
    "羽绒服": ["帽子", "袖子", "拉链", "领子", "充绒量", "衣长", "口袋"],
    "针织开衫": ["领口", "袖子", "扣子", "衣长", "面料", "下摆"],
    "口红": ["膏体", "管子", "盖子", "颜色", "质地"],
    "面霜": ["瓶子", "味道", "质地", "盖子", "成分"],
    "牛仔裤": ["裤长", "腰围", "裤脚", "裤腰", "面料", "口袋"],
    "保温杯": ["盖子", "杯身", "内胆", "吸管", "杯口"],
    "四件套": ["被套", "枕套", "床单", "面料", "花色"],
}


def pid_ref(r, p=None):
    """A product reference the way viewers write it: 2号, #3, 3号链接, 一号链接 ..."""
    if p is None:
        p = r.choice(PRODUCTS)
    i = PRODUCT_ID[p]
    cn = "一二三四五六七"[i - 1]
    return r.choice([
        f"{i}号", f"{i}号", f"#{i}", f"{i}号链接", f"{cn}号链接", f"{i}号链接的",
        f"{cn}号", f"链接{i}", f"{i}号宝贝", f"{i}#", p, p, p, f"{i}号{p}",
    ])


# ------------------------------------------------------------------ templates
# Each template is a string with {slots}; slots are filled by fill() below.
T = {
    "price": [
        "{ref}多少钱", "{ref}多少米", "多少钱啊", "{ref}什么价", "{ref}价格多少", "今天什么价",
        "{ref}还有优惠吗", "有券吗", "优惠券在哪领", "{ref}能便宜点吗", "比昨天便宜吗",
        "{price}还是{price}", "{ref}到手价多少", "满减怎么算", "两件有优惠吗", "{host}{ref}多少钱",
        "{ref}怎么这么贵", "价格能再低点吗", "{price}包邮吗", "买二送一吗", "能用消费券吗",
        "有没有赠品", "送什么赠品", "{ref}是{price}吗", "会员价多少", "这个价格是活动价吗",
        "直播间价格多少", "跟旗舰店一个价吗", "多少钱多少钱", "{host}价格打出来",
    ],
    "size": [
        "{h} {w}斤穿什么码", "身高{h}体重{w}穿多大", "{h} {w}斤选哪个码", "{w}斤能穿吗", "{w}斤穿{size}可以吗",
        "@wear:{ref}有{size}吗", "尺码偏大还是偏小", "@wear:{ref}尺码标准吗", "胖子能穿吗", "{size}有多长",
        "腰围{waist}穿几码", "@wear:{ref}有大码吗", "{h}穿会不会长", "小个子能穿吗", "@wear:{ref}偏小吗",
        "平时穿{size}选哪个", "{w}斤梨形身材推荐码数", "@top:{ref}{size}衣长多少", "宽松还是修身",
        "{h}/{w}斤{size}合适吗", "有没有加大码", "{host}帮我看看码数", "肩宽的能穿吗",
    ],
    "stock": [
        "{ref}还有吗", "{ref}没货了", "{colour}还有吗", "{colour}{size}还有吗", "什么时候补货",
        "@wear:{ref}{size}断码了", "抢不到啊", "{ref}秒没了", "怎么又没了", "还能加库存吗", "再上点库存吧",
        "{size}没了吗", "求补{colour}", "{ref}什么时候返场", "刚刚没抢到", "能不能再放一波",
        "库存还有多少", "{colour}的还有货吗", "{ref}已售罄吗", "{host}加库存啊",
    ],
    "ship": [
        "什么时候发货", "几天能到", "{city}包邮吗", "{city}能发吗", "发什么快递", "能发顺丰吗",
        "今天拍今天发吗", "{ref}现货吗", "预售要多久", "偏远地区包邮吗", "{city}几天到",
        "发货太慢了吧", "能加急吗", "快递到{city}要几天", "是从哪里发货", "运费多少",
        "48小时发货吗", "我的怎么还没发", "物流一直不动", "能改地址吗",
    ],
    "link": [
        "链接呢", "{ref}链接在哪", "上链接", "快上链接", "链接怎么没了", "{ref}挂一下",
        "找不到链接", "在哪拍", "怎么拍", "小黄车里哪个", "上车上车", "{ref}链接点不开",
        "链接是几号", "{prod}是几号链接", "{host}挂链接啊", "链接链接链接", "拍哪个链接",
        "购物车里没看到", "{ref}怎么下单", "{ref}上架了吗", "怎么不上{prod}",
    ],
    "quality": [
        "@textile:{ref}起球吗", "@textile:{ref}掉色吗", "@textile:会缩水吗", "@textile:{ref}是纯棉的吗", "什么面料", "@down:{ref}充绒量多少",
        "@down:是鸭绒还是鹅绒", "@down:含绒量多少", "@down:{ref}跑绒吗", "{ref}质量怎么样", "@textile:透气吗", "@textile:厚不厚",
        "@down:冬天穿冷不冷", "@cup:{ref}保温多久", "{ref}是正品吗", "有检测报告吗", "@knit:{ref}掉毛吗",
        "@cream:会不会闷痘", "@beauty:敏感肌能用吗", "@lip:{ref}持久吗", "@lip:{ref}沾杯吗", "{part}结实吗",
        "@cup:{ref}是不是304的", "有异味吗", "@knit:面料扎不扎", "{ref}质量好吗", "@cup:容量多大",
        "@bed:{ref}是几支纱的", "@textile:洗了会变形吗", "@cream:孕妇能用吗",
    ],
    "usage": [
        "@textile:{ref}怎么洗", "@textile:能机洗吗", "@textile:能干洗吗", "@cream:{ref}怎么用", "@cream:用量多少", "@cream:早晚都能用吗",
        "@lip:{ref}可以叠涂吗", "@cup:能放冰块吗", "@cup:能装热水吗", "@cup:能装牛奶吗", "@knit:{ref}要烫吗",
        "@wear:怎么搭配", "@top:{ref}配什么裤子", "@lip:{ref}适合黄皮吗", "@beauty:干皮能用吗", "@cream:油皮适合吗",
        "学生党适合吗", "送妈妈合适吗", "@wear:{ref}适合多大年龄", "@lip:{shade}黄皮能用吗",
        "@cup:{ref}能放洗碗机吗", "@cup:{ref}几岁能用", "@wear:上班能穿吗", "@knit:{ref}可以当外套吗",
    ],
    "after": [
        "能退吗", "七天无理由吗", "有运费险吗", "不合适能换吗", "@wear:{ref}能换码吗", "退货运费谁出",
        "怎么申请退款", "客服不回消息", "收到的是坏的", "少发了一件", "@wear:{ref}发错颜色了",
        "{part}坏了怎么办", "退款什么时候到", "能换{colour}吗", "保修多久", "有质保吗",
        "我要退货", "售后找谁", "{host}售后怎么联系", "收到{part}有线头",
    ],
    "tryon": [
        "@wear:{host}试一下{ref}", "@wear:试穿{ref}", "{host}穿{colour}看看", "试一下{colour}", "@wear:{ref}上身看看",
        "能转一圈吗", "看看背面", "{host}试一下{size}", "看一下{part}", "近一点看看", "拉近看看",
        "{host}多高多重", "{host}穿的什么码", "@lip:试下{shade}", "@lip:{shade}试色", "@lip:{ref}试色看看",
        "坐下来看看", "@cup:{ref}倒点热水看看", "看一下细节", "把{ref}拿近一点", "@lip:手臂试色看看",
        "能看下{colour}的吗", "换个光看看", "@wear:{host}试试{ref}呗",
    ],
    "buy": [
        "已拍", "已拍{n}件", "{ref}已拍", "已下单", "拍了", "买了", "{ref}拍了{n}件", "扣1",
        "1", "11111", "111", "扣{ref_n}", "已拍{colour}", "@wear:{ref}{colour}{size}已拍", "已付款",
        "付了", "冲冲冲", "冲", "{ref}冲", "想要", "要{ref}", "要了要了", "我要{ref}", "抢到了",
        "拍到了", "下单了", "又拍了一件", "回购了", "第三次回购", "已拍等发货", "蹲{ref}",
        "蹲一个", "蹲", "@wear:已拍{ref}{size}", "我拍了{n}单", "给我妈也拍了一件", "已拍已拍",
        "{ref}要{n}个", "扣1扣1", "冲了冲了",
    ],
    "praise": [
        "好看", "真好看", "太好看了", "绝绝子", "yyds", "{ref}yyds", "{host}好美", "{host}好漂亮",
        "{ref}绝了", "质量真的好", "上次买的很好", "回购好几次了", "{ref}超级好用", "值", "太值了",
        "性价比高", "{host}讲的好", "喜欢", "爱了爱了", "好喜欢{colour}", "{colour}好显白",
        "显瘦", "@down:{ref}好暖和", "@wear:穿上很舒服", "颜色好正", "@lip:{shade}好美", "支持{host}", "666",
        "{host}辛苦了", "{host}人美心善", "一直在用", "推荐给同事了", "真的好", "质量杠杠的",
        "我妈说好看", "买过很好", "@cup:{ref}真的保温", "@textile:面料很软", "@textile:不起球", "好用到哭",
    ],
    "complain": [
        "太贵了", "又涨价了", "{ref}质量不行", "@textile:收到就起球了", "掉色严重", "@textile:洗一次就缩了",
        "跟直播间看的不一样", "色差太大", "发货慢死了", "客服态度差", "@down:{ref}跑绒", "有味道",
        "假的吧", "骗人的", "拉黑了", "再也不买了", "{host}能不能快点", "讲半天不上链接",
        "一直没抢到", "退款还没到", "@cup:{ref}漏水", "差评", "垃圾", "不值这个价", "别买",
        "{part}开线了", "卡死了", "{host}说话太快了", "画面卡了", "声音太小了", "又是这个套路",
        "等了半天", "@beauty:{ref}用了过敏", "尺码不准", "@wear:{size}偏小一码", "踩雷了",
    ],
    "chat": [
        "来了来了", "{host}好", "晚上好", "打卡", "来了", "第一次来", "刚来", "又来了", "哈哈哈",
        "{host}今天好漂亮", "背景音乐叫什么", "{host}口红什么色号", "主播哪里人", "{city}的来了",
        "下班了来看看", "{fam}冲", "{fam}晚上好", "在吗", "几点下播", "明天还播吗",
        "{host}头发好好看", "你好", "看看", "路过", "刚下班", "好困", "吃饭了吗", "{host}喝口水",
        "左边那个是谁", "{host}声音好好听", "挂机", "陪{host}下播", "关注了", "点赞", "为{host}打call",
        "{fam}来了", "今天人好多", "这是哪个品牌", "{host}笑起来好甜", "想睡觉", "天好冷啊",
    ],
    "spam": [
        "加微{wx}领福利", "低价代购加V{wx}", "兼职日结加{phone}", "免费领取加qq{qq}", "看主页有惊喜",
        "刷单返现{phone}", "正品低价私我", "同款便宜一半加{wx}", "招代理日赚500+V{wx}",
        "微信{phone}同号", "点我头像领红包", "想要同款的加{wx}", "V:{wx}", "联系{phone}",
        "工厂直销加vx{wx}", "加q{qq}拉你进群", "粉丝福利群{qq}", "代购批发{phone}",
    ],
}

CATEGORY_WEIGHTS = {
    "price": 10, "size": 9, "stock": 6, "ship": 6, "link": 7, "quality": 7, "usage": 5,
    "after": 4, "tryon": 6, "buy": 12, "praise": 10, "complain": 6, "chat": 11, "spam": 2,
}

# long comments are stitched from these clause lists
LONG_OPENERS = [
    "{host}我想问一下", "{fam}我跟你们说", "我是{city}的", "上次在你们家买了{prod}", "{host}你好",
    "说实话", "蹲了好几场了", "刚进直播间", "第一次在直播间买东西", "我是老粉了",
]
LONG_CLAUSES = [
    "@wear:我{h} {w}斤平时穿{size}", "@textile:这个{prod}到底会不会起球", "@textile:上次买的{colour}洗了一次就有点掉色",
    "客服一直不回消息", "想给我妈也买一件", "今天这个价格真的很划算", "{ref}和{ref2}有什么区别",
    "@down:冬天穿会不会冷", "@top:我肩比较宽不知道能不能穿", "收到以后发现{part}有点问题", "物流走了五天才到",
    "质量真的没话说", "颜色跟直播间看到的差不多", "@beauty:敏感肌用了没有过敏", "能不能再加点库存",
    "我抢了三次都没抢到", "希望{host}多试几个颜色", "身边同事都问我在哪买的", "我已经回购好几次了",
    "@wear:上次那件{colour}的还没到", "退货申请提交好几天了还没处理", "@lip:{shade}黄皮用了很显白",
    "@cup:保温效果比我之前买的好多了", "@bed:四件套洗完有点缩水", "想问问有没有运费险", "能不能发顺丰",
]
LONG_CLOSERS = [
    "谢谢{host}", "麻烦回一下", "在线等挺急的", "求回复", "真的很喜欢", "希望{host}看到",
    "已经拍了", "等下一场再来", "{fam}冲就完事了", "不然我就退了",
]

# ------------------------------------------------------------------ noise
TRAD = {
    "么": "麼", "这": "這", "个": "個", "买": "買", "发": "發", "货": "貨", "时": "時", "还": "還",
    "吗": "嗎", "钱": "錢", "红": "紅", "颜": "顏", "尺": "尺", "码": "碼", "质": "質", "链": "鏈",
    "亮": "亮", "爱": "愛", "欢": "歡", "谢": "謝", "试": "試", "样": "樣", "长": "長", "问": "問",
    "厚": "厚", "价": "價", "优": "優", "惠": "惠", "运": "運", "费": "費", "换": "換", "给": "給",
}
TYPOS = [("的", "得"), ("在", "再"), ("哪", "那"), ("已", "以"), ("吗", "嘛"), ("链接", "连接"),
         ("没", "木"), ("什么", "神马"), ("怎么", "咋"), ("好看", "好康"), ("这个", "这各"),
         ("喜欢", "稀饭"), ("知道", "造"), ("不要", "表"), ("觉得", "觉的"), ("多少钱", "多少前"),
         ("尺码", "尺马"), ("优惠", "优会"), ("还有", "还又"), ("发货", "发或"), ("颜色", "言色"),
         ("已拍", "以拍"), ("试一下", "是一下"), ("看看", "康康"), ("现货", "现或")]
REPEATABLE = ["哈", "啊", "！", "?", "冲", "1", "6", "要", "好", "呜", "嘿", "？", "~", "。", "!"]


def to_fullwidth(s, r):
    out = []
    for ch in s:
        o = ord(ch)
        if 0x21 <= o <= 0x7E and r.random() < 0.8:
            out.append(chr(o + 0xFEE0))
        elif ch == " ":
            out.append("\u3000")
        else:
            out.append(ch)
    return "".join(out)


def split_group(tpl):
    """'@cup:{ref}漏水' -> (['保温杯'], '{ref}漏水'); untagged templates fit any product."""
    if tpl.startswith("@"):
        g, body = tpl[1:].split(":", 1)
        return GROUPS[g], body
    return PRODUCTS, tpl


def fill(tpl, r, prod=None, host=None):
    allowed, body = split_group(tpl)
    if prod is None or prod not in allowed:
        prod = r.choice(allowed)
    vals = {
        "prod": lambda: prod,
        "ref": lambda: pid_ref(r, prod),
        "ref_n": lambda: str(PRODUCT_ID[prod]),
        "ref2": lambda: pid_ref(r, r.choice([q for q in PRODUCTS if q != prod])),
        "size": lambda: r.choice(SIZES),
        "colour": lambda: r.choice(COLOURS),
        "shade": lambda: r.choice(SHADES),
        "h": lambda: r.choice(HEIGHTS),
        "w": lambda: r.choice(WEIGHTS),
        "waist": lambda: r.choice(["1尺9", "2尺", "2尺1", "2尺2", "2尺3", "68", "72", "76"]),
        "price": lambda: r.choice(PRICES),
        "city": lambda: r.choice(CITIES),
        "host": lambda: host or r.choice(HOST),
        "fam": lambda: r.choice(FAMILY),
        "n": lambda: r.choice(["1", "2", "3", "两", "三", "5"]),
        "part": lambda: r.choice(PARTS[prod]),
        "wx": lambda: r.choice(FAKE_WX),
        "phone": lambda: r.choice(FAKE_PHONES),
        "qq": lambda: r.choice(FAKE_QQ),
    }
    out = body
    while "{" in out:
        i = out.index("{")
        j = out.index("}", i)
        out = out[:i] + vals[out[i + 1:j]]() + out[j + 1:]
    return out


def decorate(s, cat, r):
    """Add the messiness of real 弹幕: particles, emotes, emoji, repeats, typos,
    traditional / full-width characters."""
    # sentence-final particles / punctuation
    x = r.random()
    if cat in ("price", "size", "stock", "ship", "link", "quality", "usage", "after") and x < 0.35:
        if s[-1] in "吗呢嘛么":  # already ends in a question particle: punctuation only
            s += r.choice(["？", "?", "??", "？？？", "?？"])
        else:
            s += r.choice(["？", "?", "??", "？？？", "呀", "啊", "呢", "宝宝", "家人们"])
    elif cat in ("praise", "buy") and x < 0.3:
        s += r.choice(["！", "!!", "！！！", "啊", "呀", "了", "~"])
    elif cat == "complain" and x < 0.3:
        s += r.choice(["！", "。。。", "...", "啊", "吧", "😓"])
    # leading address
    if r.random() < 0.08 and cat not in ("spam", "buy") and not any(s.startswith(w) for w in HOST + FAMILY):
        s = r.choice(HOST + FAMILY) + r.choice(["", "，", ",", " "]) + s
    # repeated characters (哈哈哈哈, 冲冲冲冲, ？？？)
    if r.random() < 0.10:
        s += r.choice(REPEATABLE) * r.randint(2, 7)
    # emotes / emoji
    y = r.random()
    if cat in ("praise", "buy", "chat") and y < 0.35:
        pool = EMOTES[:8] + EMOJI_POS
        s += "".join(r.choice(pool) for _ in range(r.randint(1, 3)))
    elif cat == "complain" and y < 0.3:
        s += "".join(r.choice(EMOJI_NEG + ["[发怒]", "[流泪]", "[可怜]", "[捂脸]"]) for _ in range(r.randint(1, 2)))
    elif y < 0.08:
        s += r.choice(EMOJI_NEU + EMOTES)
    if r.random() < 0.02:  # emote-led
        s = r.choice(EMOTES + EMOJI_POS) + s
    # typos (pinyin-input slips and internet spellings)
    if r.random() < 0.07:
        fits = [(a, b) for a, b in TYPOS if a in s]
        if fits:
            a, b = r.choice(fits)
            s = s.replace(a, b, 1)
    # traditional characters now and then
    if r.random() < 0.04:
        s = "".join(TRAD.get(ch, ch) for ch in s)
    # full-width ASCII (digits, letters, ?!#) now and then
    if any("!" <= ch <= "~" for ch in s) and r.random() < 0.10:
        s = to_fullwidth(s, r)
    return s


def ok(s):
    # one comment per line; a leading '#' would read as a comment line in the corpus
    return s.strip() == s and not s.startswith("#") and "\n" not in s and "\r" not in s


def short_comment(r):
    cats = list(CATEGORY_WEIGHTS)
    weights = [CATEGORY_WEIGHTS[c] for c in cats]
    for _ in range(100):
        cat = r.choices(cats, weights)[0]
        tpl = r.choice(T[cat])
        prod = r.choice(WEARABLE) if cat in ("size", "tryon") and r.random() < 0.9 else None
        s = decorate(fill(tpl, r, prod), cat, r)
        if 1 <= len(s) <= 25 and ok(s):
            return s
    raise RuntimeError("could not produce a short comment")


def long_comment(r):
    for _ in range(100):
        prod = r.choice(PRODUCTS)
        host = r.choice(HOST)
        fits = [c for c in LONG_CLAUSES if prod in split_group(c)[0]]
        parts = [fill(r.choice(LONG_OPENERS), r, prod, host)]
        parts += [fill(c, r, prod, host) for c in r.sample(fits, r.randint(3, 6))]
        parts.append(fill(r.choice(LONG_CLOSERS), r, prod, host))
        sep = r.choice(["，", ",", " ", "。", "，"])
        s = sep.join(parts)
        s = decorate(s, r.choice(["quality", "after", "praise", "complain"]), r)
        if 40 <= len(s) <= 120 and ok(s):
            return s
    raise RuntimeError("could not produce a long comment")


def generate(n, seed):
    r = random.Random(seed)
    n_long = round(n * LONG_SHARE)
    lines = [long_comment(r) for _ in range(n_long)] + [short_comment(r) for _ in range(n - n_long)]
    r.shuffle(lines)
    for s in lines:
        assert s and ok(s)
    return lines


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "benches", "data", "comments.txt")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=N_LINES, help="number of lines (default %(default)s)")
    ap.add_argument("--seed", type=int, default=SEED, help="random seed (default %(default)s)")
    ap.add_argument("-o", "--out", default=default_out, help="output file")
    args = ap.parse_args()
    lines = generate(args.n, args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines to {os.path.normpath(args.out)}")


if __name__ == "__main__":
    main()
