// Vocabulary for synthetic people and places. Every name built from these is invented.
export const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙', '胡', '朱', '高', '林', '何', '郭', '马', '罗', '梁', '宋', '郑', '谢', '韩', '唐', '冯', '于', '董', '萧', '程', '曹', '袁', '邓', '许', '傅', '沈', '曾', '彭', '吕', '苏', '卢', '蒋', '蔡', '贾', '丁', '魏', '薛', '叶', '阎', '余', '潘', '杜', '戴', '夏', '钟', '汪', '田', '任', '姜', '范', '方', '石', '姚', '谭', '廖', '邹', '熊', '金', '陆', '郝', '孔', '白', '崔', '康', '毛', '邱', '秦', '江', '史'];
export const SURNAME_WEIGHTS = SURNAMES.map((_, i) => 1 / (i + 3));
export const GIVEN_MALE = '伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛'.split('');
export const GIVEN_FEMALE = '秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽'.split('');

// The 17 streets of the demo district (public place names of Dongcheng, Beijing).
export const STREETS = [
  ['东华门街道', 'Donghuamen'], ['景山街道', 'Jingshan'], ['交道口街道', 'Jiaodaokou'], ['安定门街道', 'Andingmen'], ['北新桥街道', 'Beixinqiao'],
  ['东四街道', 'Dongsi'], ['朝阳门街道', 'Chaoyangmen'], ['建国门街道', 'Jianguomen'], ['东直门街道', 'Dongzhimen'], ['和平里街道', 'Hepingli'],
  ['前门街道', 'Qianmen'], ['崇文门外街道', 'Chongwenmenwai'], ['东花市街道', 'Donghuashi'], ['龙潭街道', 'Longtan'], ['体育馆路街道', 'Tiyuguanlu'],
  ['天坛街道', 'Tiantan'], ['永定门外街道', 'Yongdingmenwai'],
] as const;

export const COMMUNITY_WORDS = ['东', '西', '南', '北', '新', '安', '和', '平', '春', '华', '兴', '福', '宁', '康', '乐', '德', '光', '明', '园', '苑', '里', '景', '泰', '祥', '瑞', '丰', '清', '秀', '文', '雅'];
export const ALLEYS = ['胡同', '巷', '里', '路', '街', '小区'];
