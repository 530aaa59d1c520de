"""Seed the inspiration gallery with the seven curated prompts of the API document, and tags.

The data is written out here (from seed/curated_prompts.json) so migrating never reads files
outside the project. Running it again updates the seven rows in place; reversing removes them
and the tags it created.
"""

from django.db import migrations

TAGS = [
    # slug, Chinese name, English name
    ("cute", "可爱", "Cute"),
    ("animals", "动物", "Animals"),
    ("fantasy", "奇幻", "Fantasy"),
    ("architecture", "建筑", "Architecture"),
    ("portrait", "肖像", "Portrait"),
    ("landscape", "风景", "Landscape"),
    ("flowers", "花卉", "Flowers"),
]

CURATED = [
    {
        "position": 1,
        "prompt_zh": "高品质3d渲染，超现实主义非常可爱，柔和的色彩蓬松！皮卡丘混血猫，高度细致，vray 平滑，侦探皮卡丘风格，hannah yata charlie immer，柔和的室内光线，低角度，uhd 8 k，清晰对焦，高清",
        "prompt_en": "High-quality 3D render, surreal and very cute, soft colours, fluffy! Pikachu hybrid cat, highly detailed, vray smooth, Detective Pikachu style, hannah yata charlie immer, soft indoor light, low angle, uhd 8k, sharp focus, HD",
        "tags": ["cute", "animals"],
    },
    {
        "position": 2,
        "prompt_zh": "穿着华丽纹路复杂的银饰铠甲，拟人化的兔子，对称，灵性的眼睛，史诗感美丽，华丽，超细节，超清晰，电影级滤镜，16k，徕卡50mm定焦镜头",
        "prompt_en": "Anthropomorphic rabbit wearing ornate, intricately patterned silver armour, symmetrical, soulful eyes, epic beauty, gorgeous, ultra detailed, ultra sharp, cinematic filter, 16k, Leica 50mm prime lens",
        "tags": ["animals", "fantasy", "portrait"],
    },
    {
        "position": 3,
        "prompt_zh": "令人惊叹的河边小屋，artstation冠军，Victo Ngai、Kilian Eng 和 Jake Parker的艺术品，充满活力的漩涡色彩线，获奖杰作，极其艳丽，美学，辛烷值渲染，8K 高清分辨率，高度详细",
        "prompt_en": "Stunning riverside cottage, artstation winner, art by Victo Ngai, Kilian Eng and Jake Parker, vibrant swirling colour lines, award-winning masterpiece, extremely colourful, aesthetic, octane render, 8K HD resolution, highly detailed",
        "tags": ["architecture", "landscape"],
    },
    {
        "position": 4,
        "prompt_zh": "完整而精致的白色九尾狐肖像，美丽，高贵，敏捷，仙女，神话，传说，详细，artstation上的趋势，灯光效果，kilian eng，john harris，bastien lecouffe - deharme的，高度详细",
        "prompt_en": "Complete and exquisite portrait of a white nine-tailed fox, beautiful, noble, agile, fairy, mythology, legend, detailed, trending on artstation, lighting effects, kilian eng, john harris, by bastien lecouffe-deharme, highly detailed",
        "tags": ["animals", "fantasy", "portrait"],
    },
    {
        "position": 5,
        "prompt_zh": "白色，云中的梦幻城堡，次表面散射，鲜艳的色彩，（（（锦鲤颜色））），辛烷值渲染，jesper ejsing，james jean，justin gerard，tomasz alen kopera，cgsociety，fenghua zhong，makoto shinkai，非常详细，边缘光, 艺术, 电影照明, 非常连贯, 超现实主义, 高细节, 8 k , 壁纸",
        "prompt_en": "White dream castle in the clouds, subsurface scattering, vivid colours, (((koi colours))), octane render, jesper ejsing, james jean, justin gerard, tomasz alen kopera, cgsociety, fenghua zhong, makoto shinkai, very detailed, rim light, art, cinematic lighting, very coherent, surrealism, high detail, 8k, wallpaper",
        "tags": ["architecture", "fantasy", "landscape"],
    },
    {
        "position": 6,
        "prompt_zh": "非常详细的威尼斯洛可可画，描绘了一个郁郁葱葱的花园，满是柔和的粉红玫瑰，没有人，地平线上的金色城堡，蓝色蝴蝶，柔和的华丽背景，体积照明，花卉，幻想，逼真，数字插图，krenz cushart 的艺术，alphonse mucha, kehinde wiley, artem demura , 8k, 高清",
        "prompt_en": "Very detailed Venetian rococo painting of a lush garden full of soft pink roses, no people, a golden castle on the horizon, blue butterflies, soft ornate background, volumetric lighting, flowers, fantasy, photorealistic, digital illustration, art by krenz cushart, alphonse mucha, kehinde wiley, artem demura, 8k, HD",
        "tags": ["flowers", "landscape", "fantasy"],
    },
    {
        "position": 7,
        "prompt_zh": "大地之母，高度详细，数字绘画，艺术站，概念艺术，流畅，清晰的焦点，插图，电影照明，artgerm 和 greg rutkowski 和 alphonse Mucha 的艺术，高清",
        "prompt_en": "Mother Earth, highly detailed, digital painting, artstation, concept art, smooth, sharp focus, illustration, cinematic lighting, art by artgerm and greg rutkowski and alphonse Mucha, HD",
        "tags": ["portrait", "fantasy"],
    },
]


def seed(apps, schema_editor):
    Tag = apps.get_model("gallery", "Tag")
    InspirationEntry = apps.get_model("gallery", "InspirationEntry")
    tags = {}
    for slug, name_zh, name_en in TAGS:
        tags[slug], _created = Tag.objects.update_or_create(slug=slug, defaults={"name_zh": name_zh, "name_en": name_en})
    for item in CURATED:
        entry, _created = InspirationEntry.objects.update_or_create(
            is_curated=True,
            position=item["position"],
            defaults={"prompt_zh": item["prompt_zh"], "prompt_en": item["prompt_en"]},
        )
        entry.tags.set([tags[slug] for slug in item["tags"]])


def unseed(apps, schema_editor):
    apps.get_model("gallery", "InspirationEntry").objects.filter(
        is_curated=True, position__in=[item["position"] for item in CURATED]
    ).delete()
    apps.get_model("gallery", "Tag").objects.filter(slug__in=[slug for slug, _zh, _en in TAGS]).delete()


class Migration(migrations.Migration):
    dependencies = [("gallery", "0002_sweep_schedule")]
    operations = [migrations.RunPython(seed, unseed)]
